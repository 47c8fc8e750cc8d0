#if canImport(Glibc)
    import Glibc
#endif

/// Time and the statistics the report needs.
enum Clock {
    /// Nanoseconds on the monotonic clock (vDSO: no system call).
    @inline(__always)
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Seconds between two readings of `now()`.
    static func seconds(_ start: UInt64, _ end: UInt64) -> Double { Double(end &- start) / 1e9 }

    /// The median cost of one `now()` call, in ns: what every per-operation latency includes.
    static func overhead() -> Double {
        var samples: [UInt64] = []
        samples.reserveCapacity(10_000)
        var previous = now()
        for _ in 0..<10_000 {
            let t = now()
            samples.append(t &- previous)
            previous = t
        }
        return Percentiles(samples).value(0.5)
    }
}

/// Percentiles of a set of latencies (nearest rank).
struct Percentiles {
    private let sorted: [UInt64]

    init(_ samples: [UInt64]) { sorted = samples.sorted() }

    /// The `p`-quantile (0...1) in the samples' unit.
    func value(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return Double(sorted[min(max(rank, 0), sorted.count - 1)])
    }
}

/// The median of `values` (the lower middle one for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[(sorted.count - 1) / 2]
}
