import Logbook

#if canImport(Glibc)
    import Glibc
#endif

// Workloads measured around a child process: recover (a worker fills and is killed, the bench
// times open + get) and rss (a fresh worker fills and reads, and reports its peak memory).

extension Bench {
    /// recover: a worker fills N keys (relaxed) and kills itself with SIGKILL, without closing;
    /// then open + one get is timed here, and the records replayed are counted.
    func recover() -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "recover")
        defer { scratch.remove() }
        let n = sizes.n
        let pid = Processes.spawnSelf(["--worker", "fill-killed", "--dir", scratch.store, "--n", "\(n)"])
        let status = Processes.wait(pid)
        if Processes.signal(status) != SIGKILL {
            fail("recover: the fill worker ended with status \(status), not SIGKILL")
        }

        let dataset = Dataset(count: n)
        var values = ValueStream()
        let start = Clock.now()
        let store = open(scratch.store, .relaxed)
        let value = must("get") { try store.get(dataset.key(at: 0)) }
        let seconds = Clock.seconds(start, Clock.now())
        let records = must("stats") { try store.stats() }.lastSequence
        store.close()
        if value != values.next() || records != UInt64(n) {
            fail("recover: wrong value or \(records) records replayed (expected \(n))")
        }
        return Measurement(
            workload: "recover",
            fields: [("ms", seconds * 1e3), ("records_per_s", Double(records) / seconds)],
            figure: Double(records) / seconds, unit: "records/s",
            details:
                "\(Format.decimal(seconds * 1e3)) ms to open + get after a SIGKILL, \(records) records replayed"
        )
    }

    /// rss: peak resident memory (VmHWM) of a fresh worker that runs fill_nosync and read_hot.
    func rss() -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "rss")
        defer { scratch.remove() }
        let output = Processes.pipe()
        let pid = Processes.spawnSelf(
            ["--worker", "rss", "--dir", scratch.store, "--n", "\(sizes.n)"], descriptors: [1: output.write])
        close(output.write)
        let text = String(decoding: Processes.readAll(output.read), as: UTF8.self)
        close(output.read)
        let status = Processes.wait(pid)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        guard Processes.exitCode(status) == 0, words.count == 2 else {
            fail("rss: the worker failed (status \(status), output '\(text)')")
        }
        let (peak, baseline) = (words[0] / 1024, words[1] / 1024)
        return Measurement(
            workload: "rss", fields: [("mib", peak), ("baseline_mib", baseline)], figure: peak, unit: "MiB",
            details: "peak of a fresh process; \(Format.decimal(baseline)) MiB before opening the store")
    }
}
