import CLogbookShims
import Logbook

// The N-key workloads on one filled store: fill_nosync (default options: automatic compaction
// included, as users get it), then read_hot, read_miss and scan_all on it, disk_bytes after it is
// closed and again after `compact()`, and reopen of the compacted store. And fill_batch and
// compact on stores of their own.

extension Bench {
    /// One run of every workload that starts from fill_nosync's store.
    func filledStore() -> [Measurement] {
        let scratch = ScratchDirectory(under: options.directory, "fill")
        defer { scratch.remove() }
        let data = self.data
        let n = sizes.n
        var results: [Measurement] = []

        // fill_nosync: n single-put commits, relaxed. One clock reading per put, so each
        // latency also holds one reading's cost (see Clock.overhead()).
        let store = open(scratch.store, .relaxed)
        var latencies = [UInt64](repeating: 0, count: n)
        let start = Clock.now()
        var previous = start
        for i in 0..<n {
            must("put") { try store.put(data.keys[i], data.values[i]) }
            let now = Clock.now()
            latencies[i] = now &- previous
            previous = now
        }
        let fillSeconds = Clock.seconds(start, previous)
        let compactions = must("stats") { try store.stats() }.snapshot
        if selected("fill_nosync") {
            let p = Percentiles(latencies)
            results.append(
                Measurement(
                    workload: "fill_nosync",
                    fields: [
                        ("ops_per_s", Double(n) / fillSeconds), ("p50_us", p.value(0.5) / 1e3),
                        ("p99_us", p.value(0.99) / 1e3),
                    ],
                    figure: Double(n) / fillSeconds, unit: "ops/s",
                    details:
                        "p50 \(Format.decimal(p.value(0.5) / 1e3)) µs, p99 \(Format.decimal(p.value(0.99) / 1e3)) µs, "
                        + "max \(Format.decimal(p.value(1) / 1e6)) ms; "
                        + "\(compactions) automatic compaction\(compactions == 1 ? "" : "s") (default 16 MiB of log)",
                    floor: .append))
        }
        if selected("read_hot") { results.append(readHot(store, data)) }
        if selected("read_miss") { results.append(readMiss(store, data)) }
        if selected("scan_all") { results.append(scanAll(store, n)) }
        store.close()

        let bytes = Double(Directories.bytes(scratch.store))
        guard selected("disk_bytes") || selected("reopen") else { return results }

        let compacting = open(scratch.store, .relaxed)
        let report = must("compact") { try compacting.compact() }
        compacting.close()
        let compacted = Double(Directories.bytes(scratch.store))
        if selected("disk_bytes") {
            let raw = Double(Dataset.rawPairSize * n)
            results.append(
                Measurement(
                    workload: "disk_bytes",
                    fields: [
                        ("bytes", bytes), ("ratio_raw", bytes / raw), ("bytes_compacted", compacted),
                        ("ratio_raw_compacted", compacted / raw),
                    ],
                    figure: compacted / raw, unit: "x raw",
                    details: "after compact(): \(Format.count(compacted)) bytes; after fill_nosync: "
                        + "\(Format.count(bytes)) bytes (\(Format.fixed(bytes / raw, 2))x); raw = 116 × N = \(Format.count(raw))"
                ))
        }
        if selected("reopen") { results.append(reopen(scratch.store, data, keys: report.keys)) }
        return results
    }

    /// read_hot: n gets of random existing keys. Throughput from an untimed pass, latencies
    /// from a second pass that reads the clock once per get.
    private func readHot(_ store: Store, _ data: FillData) -> Measurement {
        let keys = data.hotKeys
        let before = must("stats") { try store.stats() }
        let (found, seconds) = timeGets(store, keys)
        let after = must("stats") { try store.stats() }
        if found != keys.count { fail("read_hot: \(keys.count - found) existing keys not found") }
        let hits = Double(after.cacheHits - before.cacheHits)
        let lookups = hits + Double(after.cacheMisses - before.cacheMisses)
        let cache =
            lookups == 0
            ? "value cache not consulted (it serves snapshot values of 16 KiB or more, or paranoid mode)"
            : "\(Format.decimal(100 * lookups / Double(keys.count)))% of gets reached the snapshot, "
                + "value cache hit rate \(Format.decimal(100 * hits / lookups))%"
        let lent = timeLends(store, keys)
        let threads = 2
        let together = concurrentGets(store, keys, threads: threads)
        let many = timeGetMany(store, keys)
        let miss = MemoryLatency.measure()
        let valueTable = FloorRun.lookupReturningValues(data: data)
        let getRate = Double(keys.count) / seconds
        return getMeasurement(
            "read_hot", store, keys, seconds: seconds, extra: [("value_table_ops_per_s", valueTable)],
            note: "withValue (the value lent in place, no copy): \(Format.count(Double(keys.count) / lent)) gets/s; "
                + "getMany (\(Self.manyKeys) keys a call, their look-ups overlapping): "
                + "\(Format.count(Double(keys.count) / many)) gets/s; \(threads) threads at once: \(Format.count(together)) gets/s in all; "
                + cache
                + "; a dependent memory miss here: \(Format.count(miss)) ns (pointer chase over 64 MiB), a get "
                + "\(Format.fixed(1e9 / getRate / miss, 1)) of them; the floor's hash table holding each key with its value, "
                + "the value copied out as a new array as a get returns it: \(Format.count(valueTable)) lookups/s, "
                + "read_hot \(Format.fixed(getRate / valueTable, 2))x of it")
    }

    /// Seconds of one `withValue` of each of `keys`, reading each value's first and last byte.
    private func timeLends(_ store: Store, _ keys: [[UInt8]]) -> Double {
        var found = 0
        var touched = 0
        let start = Clock.now()
        for key in keys {
            must("withValue") {
                try store.withValue(key) { value in
                    guard let value, let first = value.first, let last = value.last else { return }
                    found += 1
                    touched &+= Int(first) &+ Int(last)
                }
            }
        }
        let seconds = Clock.seconds(start, Clock.now())
        if found != keys.count {
            fail("read_hot: withValue found \(found) of \(keys.count) existing keys (\(touched))")
        }
        return seconds
    }

    /// Keys a `getMany` call of read_hot's details asks for.
    static let manyKeys = 64

    /// Seconds of `getMany` over `keys`, `manyKeys` at a time.
    private func timeGetMany(_ store: Store, _ keys: [[UInt8]]) -> Double {
        var found = 0
        let start = Clock.now()
        var first = 0
        while first < keys.count {
            let end = min(first + Self.manyKeys, keys.count)
            for value in must("getMany", { try store.getMany(Array(keys[first..<end])) }) where value != nil {
                found += 1
            }
            first = end
        }
        let seconds = Clock.seconds(start, Clock.now())
        if found != keys.count { fail("read_hot: getMany found \(found) of \(keys.count) existing keys") }
        return seconds
    }

    /// gets/s of `threads` threads each getting every one of `keys` at the same time, on one
    /// handle: whether gets on several threads overlap.
    private func concurrentGets(_ store: Store, _ keys: [[UInt8]], threads: Int) -> Double {
        let start = Clock.now()
        Processes.runThreads(threads) { _ in for key in keys { _ = must("get") { try store.get(key) } } }
        return Double(threads * keys.count) / Clock.seconds(start, Clock.now())
    }

    /// read_miss: n gets of absent keys that sort among the existing ones.
    private func readMiss(_ store: Store, _ data: FillData) -> Measurement {
        let keys = data.missKeys
        let (found, seconds) = timeGets(store, keys)
        if found != 0 { fail("read_miss: \(found) absent keys were found") }
        return getMeasurement("read_miss", store, keys, seconds: seconds, note: nil)
    }

    /// One timed get of each of `keys`: how many were found, and the seconds they took.
    private func timeGets(_ store: Store, _ keys: [[UInt8]]) -> (found: Int, seconds: Double) {
        var found = 0
        let start = Clock.now()
        for key in keys where must("get", { try store.get(key) }) != nil { found += 1 }
        return (found, Clock.seconds(start, Clock.now()))
    }

    /// A get workload's result: ops/s from the timed run, then p50 and p99 from a second run of
    /// `keys` timed one get at a time; `note` ends the details, `extra` the JSON fields.
    private func getMeasurement(
        _ workload: String, _ store: Store, _ keys: [[UInt8]], seconds: Double,
        extra: [(name: String, value: Double?)] = [], note: String?
    ) -> Measurement {
        let p = latencies(keys) { key in _ = must("get") { try store.get(key) } }
        return Measurement(
            workload: workload,
            fields: [
                ("ops_per_s", Double(keys.count) / seconds), ("p50_ns", p.value(0.5)),
                ("p99_ns", p.value(0.99)),
            ] + extra,
            figure: Double(keys.count) / seconds, unit: "ops/s",
            details: "p50 \(Format.count(p.value(0.5))) ns, p99 \(Format.count(p.value(0.99))) ns"
                + (note.map { "; " + $0 } ?? ""),
            floor: .lookup)
    }

    /// scan_all: every pair in key order through `scan()`, touching each.
    private func scanAll(_ store: Store, _ n: Int) -> Measurement {
        // The figure: `visit`, each pair read in place (as the SQLite harness reads its rows'
        // blobs), its byte counts summed and its key compared with the previous one.
        var start = Clock.now()
        var pairs = 0
        var bytes = 0
        var ordered = true
        var last = [UInt8](repeating: 0, count: Limits.maxKeySize)
        var lastCount = 0
        must("visit") {
            try last.withUnsafeMutableBytes { last in
                try store.visit { key, value in
                    bytes &+= key.count &+ value.count
                    if pairs > 0 && lb_compare_bytes(last.baseAddress, lastCount, key.baseAddress, key.count) >= 0 {
                        ordered = false
                    }
                    if let source = key.baseAddress { last.baseAddress!.copyMemory(from: source, byteCount: key.count) }
                    lastCount = key.count
                    pairs &+= 1
                    return true
                }
            }
        }
        let seconds = Clock.seconds(start, Clock.now())
        if pairs != n || !ordered || bytes != n * Dataset.rawPairSize {
            fail("scan_all: \(pairs) pairs visited (expected \(n)), in order: \(ordered)")
        }
        // And `scan()`, which returns every pair as arrays.
        start = Clock.now()
        let scanned = must("scan") { try store.scan() }
        var previous: [UInt8] = []
        ordered = true
        bytes = 0
        for pair in scanned {
            bytes &+= pair.key.count &+ pair.value.count
            if ordered && !previous.isEmpty && !previous.lexicographicallyPrecedes(pair.key) { ordered = false }
            previous = pair.key
        }
        let scanSeconds = Clock.seconds(start, Clock.now())
        if scanned.count != n || !ordered || bytes != n * Dataset.rawPairSize {
            fail("scan_all: scan() returned \(scanned.count) pairs (expected \(n)), in order: \(ordered)")
        }
        return Measurement(
            workload: "scan_all", fields: [("ops_per_s", Double(n) / seconds)], figure: Double(n) / seconds,
            unit: "keys/s",
            details: "visit() of all pairs in place, each key compared with the previous; scan(), every pair "
                + "copied into arrays: \(Format.count(Double(n) / scanSeconds)) keys/s")
    }

    /// reopen: open + one get of the compacted store after a clean close; the median of
    /// `reopens` tries.
    private func reopen(_ path: String, _ data: FillData, keys: UInt64) -> Measurement {
        var times: [Double] = []
        for _ in 0..<sizes.reopens {
            let start = Clock.now()
            let store = open(path, .relaxed)
            let value = must("get") { try store.get(data.keys[0]) }
            let end = Clock.now()
            if value != data.values[0] { fail("reopen: the first key's value is wrong") }
            store.close()
            times.append(Clock.seconds(start, end) * 1e3)
        }
        let ms = median(times)
        return Measurement(
            workload: "reopen", fields: [("ms", ms)], figure: ms, unit: "ms",
            details:
                "open + get after compact() (\(keys) keys in the snapshot) and close, median of \(sizes.reopens)"
        )
    }

    /// Latencies of `body` over `keys`, one clock reading per call.
    private func latencies(_ keys: [[UInt8]], _ body: ([UInt8]) -> Void) -> Percentiles {
        var samples = [UInt64](repeating: 0, count: keys.count)
        var previous = Clock.now()
        for (i, key) in keys.enumerated() {
            body(key)
            let now = Clock.now()
            samples[i] = now &- previous
            previous = now
        }
        return Percentiles(samples)
    }

    /// fill_batch: n puts in write transactions of `batch` puts, relaxed.
    func fillBatch() -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "batch")
        defer { scratch.remove() }
        let data = self.data
        let n = sizes.n
        let batch = sizes.batch
        let store = open(scratch.store, .relaxed)
        defer { store.close() }
        let start = Clock.now()
        var first = 0
        while first < n {
            let range = first..<min(first + batch, n)
            must("write") {
                try store.write { tx in
                    for i in range { try tx.put(data.keys[i], data.values[i]) }
                }
            }
            first = range.upperBound
        }
        let seconds = Clock.seconds(start, Clock.now())
        let keys = must("stats") { try store.stats() }.keys
        if keys != n { fail("fill_batch: \(keys) keys after \(n) puts") }
        return Measurement(
            workload: "fill_batch", fields: [("ops_per_s", Double(n) / seconds)], figure: Double(n) / seconds,
            unit: "ops/s", details: "transactions of \(batch) puts", floor: .append)
    }

    /// compact: a store (automatic compaction off) filled with N puts and then N overwrites of
    /// the same keys, as single commits, relaxed; then `compact()` is timed. MB/s is the size of
    /// what compaction wrote (the store's bytes after it) per second.
    func compact() -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "compact")
        defer { scratch.remove() }
        let data = self.data
        let n = sizes.n
        let store = open(scratch.store, .relaxed, autoCompact: false)
        defer { store.close() }
        var overwrites = ValueStream(seed: Dataset.overwriteSeed)
        for i in 0..<n { must("put") { try store.put(data.keys[i], data.values[i]) } }
        for i in 0..<n { must("put") { try store.put(data.keys[i], overwrites.next()) } }
        let start = Clock.now()
        let report = must("compact") { try store.compact() }
        let seconds = Clock.seconds(start, Clock.now())
        if report.keys != UInt64(n) { fail("compact: \(report.keys) keys in the snapshot, expected \(n)") }
        let written = Double(report.bytesAfter)
        return Measurement(
            workload: "compact", fields: [("seconds", seconds), ("mb_per_s", written / 1e6 / seconds)],
            figure: seconds, unit: "s",
            details:
                "\(Format.decimal(written / 1e6 / seconds)) MB/s; \(Format.count(Double(report.bytesBefore))) bytes "
                + "(\(2 * n) records) folded into \(Format.count(written))")
    }
}
