import Logbook

#if canImport(Glibc)
    import Glibc
#endif

// The durable workloads (`normal`: one fdatasync per commit): fill_sync, concurrent_sync with
// T threads on one handle, multiprocess_sync with P processes on one directory.

extension Bench {
    /// fill_sync: `syncPuts` single-put commits, normal.
    func fillSync() -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "sync")
        defer { scratch.remove() }
        let data = Dataset(count: sizes.syncPuts)
        let keys = data.keys()
        let values = data.values()
        let store = open(scratch.store, .normal)
        defer { store.close() }
        var latencies = [UInt64](repeating: 0, count: keys.count)
        let start = Clock.now()
        var previous = start
        for i in keys.indices {
            must("put") { try store.put(keys[i], values[i]) }
            let now = Clock.now()
            latencies[i] = now &- previous
            previous = now
        }
        let seconds = Clock.seconds(start, previous)
        let stats = must("stats") { try store.stats() }
        if stats.keys != keys.count || stats.syncs != UInt64(keys.count) {
            fail("fill_sync: \(stats.keys) keys and \(stats.syncs) syncs after \(keys.count) puts")
        }
        let p = Percentiles(latencies)
        return Measurement(
            workload: "fill_sync",
            fields: [
                ("ops_per_s", Double(keys.count) / seconds), ("p50_us", p.value(0.5) / 1e3),
                ("p99_us", p.value(0.99) / 1e3),
            ],
            figure: Double(keys.count) / seconds, unit: "ops/s",
            details:
                "p50 \(Format.decimal(p.value(0.5) / 1e3)) µs, p99 \(Format.decimal(p.value(0.99) / 1e3)) µs",
            floor: .sync)
    }

    /// concurrent_sync_tT: T threads, each `perWriter` single-put commits, on one shared handle.
    func concurrentSync(threads: Int) -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "threads")
        defer { scratch.remove() }
        let per = sizes.perWriter
        let data = Dataset(count: threads * per)
        let keys = data.keys()
        let values = data.values()
        let store = open(scratch.store, .normal)
        defer { store.close() }
        let start = Clock.now()
        Processes.runThreads(threads) { t in
            for i in t * per..<(t + 1) * per {
                must("put") { try store.put(keys[i], values[i]) }
            }
        }
        let seconds = Clock.seconds(start, Clock.now())
        let stats = must("stats") { try store.stats() }
        if stats.keys != keys.count { fail("concurrent_sync: \(stats.keys) keys after \(keys.count) puts") }
        let rate = Double(keys.count) / seconds
        return Measurement(
            workload: "concurrent_sync_t\(threads)", fields: [("ops_per_s", rate)], figure: rate,
            unit: "commits/s",
            details: "\(threads) thread\(threads == 1 ? "" : "s") × \(per) commits, \(stats.syncs) syncs",
            floor: .sync)
    }

    /// multiprocess_sync_pP: P worker processes, each `perWriter` single-put commits, normal, one
    /// directory. Workers open the store, report ready, wait for one start signal, and report
    /// the monotonic time they finished and their syncs; the figure spans the signal to the last
    /// finish.
    func multiprocessSync() -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "procs")
        defer { scratch.remove() }
        let processes = sizes.processes
        let per = sizes.perWriter
        open(scratch.store, .normal).close()  // create the store before the workers race to

        let go = Processes.pipe()
        let report = Processes.pipe()
        var pids: [pid_t] = []
        for index in 0..<processes {
            pids.append(
                Processes.spawnSelf(
                    [
                        "--worker", "put", "--dir", scratch.store, "--index", "\(index)", "--count", "\(per)",
                        "--total", "\(processes * per)",
                    ], descriptors: [3: go.read, 4: report.write]))
        }
        close(report.write)
        close(go.read)
        for _ in 0..<processes {
            guard Processes.readWord(report.read) != nil else {
                fail("multiprocess_sync: a worker died before starting")
            }
        }
        let start = Clock.now()
        let signal = [UInt8](repeating: 1, count: processes)
        guard write(go.write, signal, processes) == processes else {
            fail("multiprocess_sync: cannot signal workers")
        }
        var end: UInt64 = 0
        var syncs: UInt64 = 0
        for _ in 0..<processes {
            guard let finished = Processes.readWord(report.read), let synced = Processes.readWord(report.read) else {
                fail("multiprocess_sync: a worker died")
            }
            end = max(end, finished)
            syncs += synced
        }
        close(report.read)
        close(go.write)
        for pid in pids {
            let status = Processes.wait(pid)
            if Processes.exitCode(status) != 0 {
                fail("multiprocess_sync: a worker failed (status \(status))")
            }
        }
        let store = open(scratch.store, .normal)
        let keys = must("stats") { try store.stats() }.keys
        store.close()
        if keys != processes * per { fail("multiprocess_sync: \(keys) keys after \(processes * per) puts") }
        let rate = Double(processes * per) / Clock.seconds(start, end)
        return Measurement(
            workload: "multiprocess_sync_p\(processes)", fields: [("ops_per_s", rate)], figure: rate,
            unit: "commits/s", details: "\(processes) processes × \(per) commits, \(syncs) syncs", floor: .sync)
    }
}
