#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// SplitMix64: a small, reproducible random number generator. The seed comes from
/// `LOGBOOK_CRASH_SEED` when set, so a failing run can be replayed; failures print it.
struct SeededGenerator: RandomNumberGenerator {
    let seed: UInt64
    private var state: UInt64

    init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// Seeded from `LOGBOOK_CRASH_SEED`, else at random.
    static func fromEnvironment() -> SeededGenerator {
        if let text = getenv("LOGBOOK_CRASH_SEED"), let seed = UInt64(String(cString: text)) {
            return SeededGenerator(seed: seed)
        }
        return SeededGenerator(seed: UInt64.random(in: 0...UInt64.max))
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
