import Logbook

#if canImport(Glibc)
    import Glibc
#endif

// cli_get and cli_put: what one run of the `logbook` CLI costs the agent tool that starts it,
// from spawn to exit (process start, open, one get or one durable put, close), on a compacted
// store of 1,000 keys. The process floor beside them: spawning and waiting for /bin/true.

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
        let keys = min(1000, sizes.n)
        let store = open(scratch.store, .relaxed)
        for i in 0..<keys { must("put") { try store.put(data.keys[i], data.values[i]) } }
        _ = must("compact") { try store.compact() }
        store.close()

        let runs = sizes.cliRuns
        let floor = median((0..<runs).map { _ in Self.timedRun("/bin/true", []) })
        let key = { (i: Int) in String(decoding: data.keys[i % keys], as: UTF8.self) }
        var results: [Measurement] = []
        if selected("cli_get") {
            let ms = median((0..<runs).map { i in Self.timedRun(cli, ["--store", scratch.store, "get", key(i)]) })
            results.append(cliMeasurement("cli_get", ms, floor, "logbook get of an existing key"))
        }
        if selected("cli_put") {
            let value = String(repeating: "v", count: Dataset.valueSize)
            let ms = median(
                (0..<runs).map { i in Self.timedRun(cli, ["--store", scratch.store, "put", key(i), value]) })
            results.append(cliMeasurement("cli_put", ms, floor, "logbook put (normal: one fdatasync)"))
        }
        return results
    }

    private func cliMeasurement(_ workload: String, _ ms: Double, _ floor: Double, _ what: String) -> Measurement {
        Measurement(
            workload: workload, fields: [("ms", ms), ("process_floor_ms", floor)], figure: ms, unit: "ms",
            details: "\(what), spawn to exit, median of \(sizes.cliRuns); starting /bin/true: "
                + "\(Format.fixed(floor, 2)) ms")
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
