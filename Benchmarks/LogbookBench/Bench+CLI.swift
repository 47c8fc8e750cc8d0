import Logbook

#if canImport(Glibc)
    import Glibc
#endif

// cli_get and cli_put: what one run of the `logbook` CLI costs the agent tool that starts it,
// from spawn to exit (process start, open, one get or one durable put, close). The store holds
// 1,000 keys in its snapshot and N/4 records (at most 50,000: ~7 MB) in its log, written by the
// library: about what a CLI call meets on a store that a long-lived process writes to (its
// handles compact at 16 MiB of log), since every call reads the log since the last compaction.
// The process floor beside them: spawning and waiting for /bin/true.

extension Bench {
    /// The CLI the bench measures: the `logbook` built beside this executable.
    static var cliPath: String {
        let own = Processes.selfPath
        let folder = own.lastIndex(of: "/").map { String(own[..<$0]) } ?? "."
        return folder + "/logbook"
    }

    func cli() -> [Measurement] {
        let cli = Self.cliPath
        let names = ["cli_get", "cli_put"].filter(selected)
        guard access(cli, X_OK) == 0 else {
            return names.map {
                Measurement(
                    workload: $0, fields: [("ms", nil)], figure: nil, unit: "ms",
                    note: "no logbook beside the bench (build it: swift build -c release)")
            }
        }
        let scratch = ScratchDirectory(under: options.directory, "cli")
        defer { scratch.remove() }
        let data = self.data
        let compacted = max(1, min(1000, sizes.n / 2))
        let keys = compacted + min(sizes.n / 4, 50_000)
        let store = open(scratch.store, .relaxed, autoCompact: false)
        for i in 0..<compacted { must("put") { try store.put(data.keys[i], data.values[i]) } }
        _ = must("compact") { try store.compact() }
        for i in compacted..<keys { must("put") { try store.put(data.keys[i], data.values[i]) } }
        let logBytes = Double(must("stats") { try store.stats() }.logBytes)
        store.close()
        let shape =
            "\(compacted) keys in the snapshot, \(keys - compacted) records (\(Format.fixed(logBytes / 1e6, 1)) MB) in the log"

        let runs = sizes.cliRuns
        let floor = median((0..<runs).map { _ in Self.timedRun("/bin/true", []) })
        // Every other key from the snapshot, the others from the log.
        let key = { (i: Int) in
            let logged = keys - compacted
            let k = i % 2 == 0 || logged == 0 ? i % compacted : compacted + i % logged
            return String(decoding: data.keys[k], as: UTF8.self)
        }
        var results: [Measurement] = []
        if selected("cli_get") {
            let times = (0..<runs).map { i in Self.timedRun(cli, ["--store", scratch.store, "get", key(i)]) }
            results.append(cliMeasurement("cli_get", times, floor, "logbook get of an existing key; \(shape)"))
        }
        if selected("cli_put") {
            // The CLI compacts once the log passes 1 MiB: the first put pays for it (the slowest).
            let value = String(repeating: "v", count: Dataset.valueSize)
            let times = (0..<runs).map { i in Self.timedRun(cli, ["--store", scratch.store, "put", key(i), value]) }
            results.append(
                cliMeasurement("cli_put", times, floor, "logbook put (normal: one fdatasync), after the gets"))
        }
        return results
    }

    private func cliMeasurement(_ workload: String, _ times: [Double], _ floor: Double, _ what: String)
        -> Measurement
    {
        let ms = median(times)
        return Measurement(
            workload: workload, fields: [("ms", ms), ("slowest_ms", times.max() ?? 0), ("process_floor_ms", floor)],
            figure: ms, unit: "ms",
            details:
                "\(what); spawn to exit, median of \(times.count), slowest \(Format.fixed(times.max() ?? 0, 1)) ms; "
                + "starting /bin/true: \(Format.fixed(floor, 2)) ms")
    }

    /// Milliseconds from spawning `path` to its exit; stops the bench unless it exits 0.
    private static func timedRun(_ path: String, _ arguments: [String]) -> Double {
        let null = Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard null >= 0 else { fail("open /dev/null: \(String(cString: strerror(errno)))") }
        defer { close(null) }
        let start = Clock.now()
        let status = Processes.wait(Processes.spawn(path, arguments, descriptors: [1: null]))
        let end = Clock.now()
        guard Processes.exitCode(status) == 0 else {
            fail("\(path) \(arguments.prefix(3).joined(separator: " ")) ended with status \(status)")
        }
        return Clock.seconds(start, end) * 1e3
    }
}
