/// What one memory access costs when it depends on the one before and misses every cache: a
/// pointer chase through a random cycle of 64-byte lines over 64 MiB. Not a floor (nothing is
/// a ratio to it): it tells how many such misses a get's latency amounts to, since a get's
/// look-ups depend on one another where the lookup floor's overlap.
enum MemoryLatency {
    /// Nanoseconds per step of the chase (median of three).
    static func measure() -> Double {
        let lineWords = 8
        let lines = (64 << 20) / (8 * lineWords)
        // Sattolo's shuffle: one cycle through every line.
        var order = Array(0..<lines)
        var random = SplitMix64(seed: 0x4C6F_6762_6F6F_6B06)
        var i = lines - 1
        while i > 0 {
            order.swapAt(i, random.next(below: i))
            i -= 1
        }
        var next = [Int](repeating: 0, count: lines * lineWords)
        for k in 0..<lines { next[order[k] * lineWords] = order[(k + 1) % lines] * lineWords }
        let steps = 1 << 20
        var times: [Double] = []
        var at = order[0] * lineWords
        next.withUnsafeBufferPointer { next in
            for _ in 0..<3 {
                let start = Clock.now()
                for _ in 0..<steps { at = next[at] }
                times.append(Clock.seconds(start, Clock.now()) * 1e9 / Double(steps))
            }
        }
        if at < 0 { fail("memory latency: chase left the array") }  // keeps the chase's result live
        return times.sorted()[1]
    }
}
