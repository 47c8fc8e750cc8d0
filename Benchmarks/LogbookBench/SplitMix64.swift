/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seedable generator, so every run, and the
/// SQLite harness in `Benchmarks/compare/` (which carries the same ten lines of C), draws the
/// same keys and values.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (modulo bias is below 2^-40 for the sizes used here).
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
