import Logbook

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the selected workloads `runs` times each, with the floors, and collects the medians.
final class Bench {
    let options: BenchOptions
    let sizes: Sizes
    private var cachedData: FillData?

    init(options: BenchOptions) {
        self.options = options
        sizes = options.sizes
    }

    /// The N-key inputs, built on first use.
    var data: FillData {
        if let cachedData { return cachedData }
        let built = FillData(count: sizes.n)
        cachedData = built
        return built
    }

    func selected(_ workload: String) -> Bool { options.selected(workload) }

    /// `runs` rounds; each measures the floors the selected workloads are compared with, then
    /// every selected workload, so that a noisy spell of the machine hits floors and workloads
    /// alike. Reports the median of the rounds for each figure.
    func run() -> (floors: [Floor: Double], results: [Measurement]) {
        let needs: [Floor: [String]] = [
            .append: ["fill_nosync", "fill_batch"],
            .sync: ["fill_sync", "concurrent_sync", "multiprocess_sync", "claim_race"],
            .lookup: ["read_hot", "read_miss"],
        ]
        let floorsNeeded = Floor.allCases.filter { needs[$0]!.contains(where: selected) }
        let fillGroup = ["fill_nosync", "read_hot", "read_miss", "scan_all", "disk_bytes", "reopen"]
        var floorRuns: [Floor: [Double]] = [:]
        var byWorkload: [(String, [Measurement])] = []

        for run in 1...options.runs {
            for floor in floorsNeeded {
                let value = measureFloor(floor)
                progress("floor \(floor.rawValue) run \(run)/\(options.runs): \(Format.count(value)) ops/s")
                floorRuns[floor, default: []].append(value)
            }
            var measured: [() -> [Measurement]] = []
            if fillGroup.contains(where: selected) { measured.append { self.filledStore() } }
            if selected("fill_batch") { measured.append { [self.fillBatch()] } }
            if selected("fill_sync") { measured.append { [self.fillSync()] } }
            if selected("concurrent_sync") { measured.append { self.sizes.threads.map(self.concurrentSync) } }
            if selected("multiprocess_sync") { measured.append { [self.multiprocessSync()] } }
            if selected("recover") { measured.append { [self.recover()] } }
            if selected("compact") { measured.append { [self.compact()] } }
            if selected("rss") { measured.append { [self.rss()] } }
            if selected("task_create") || selected("task_list") { measured.append { self.agentTasks() } }
            if selected("claim_race") { measured.append { [self.claimRace()] } }
            if selected("cli_get") || selected("cli_put") { measured.append { self.cli() } }
            for body in measured {
                quiesce()
                for measurement in body() {
                    progress(
                        "\(measurement.workload) run \(run)/\(options.runs): \(Format.figure(measurement))")
                    if let i = byWorkload.firstIndex(where: { $0.0 == measurement.workload }) {
                        byWorkload[i].1.append(measurement)
                    } else {
                        byWorkload.append((measurement.workload, [measurement]))
                    }
                }
            }
        }
        let results = byWorkload.map { Measurement.median(of: $0.1) }

        let order = BenchOptions.workloads
        func rank(_ m: Measurement) -> Int { order.firstIndex { m.workload.hasPrefix($0) } ?? order.count }
        let sorted = results.enumerated().sorted {
            (rank($0.element), $0.offset) < (rank($1.element), $1.offset)
        }
        return (floorRuns.mapValues(median), sorted.map(\.element))
    }

    /// Writes back every dirty page on the machine (sync(2)) so that one workload's leftovers
    /// (a deleted 30 MB log still being written back) do not slow the next one's syncs.
    private func quiesce() { Glibc.sync() }

    private func measureFloor(_ floor: Floor) -> Double {
        let scratch = ScratchDirectory(under: options.directory, "floor")
        defer { scratch.remove() }
        quiesce()
        switch floor {
        case .append: return FloorRun.append(count: sizes.n, data: data, directory: scratch.path)
        case .sync: return FloorRun.sync(count: sizes.syncPuts, data: data, directory: scratch.path)
        case .lookup: return FloorRun.lookup(data: data)
        }
    }

    /// Opens a store with the default options but `durability`, or stops the bench.
    /// `autoCompact: false` turns automatic compaction off, for the workloads that need an
    /// uncompacted log (recover) or a known one to compact (compact).
    func open(_ path: String, _ durability: Durability, autoCompact: Bool = true) -> Store {
        Worker.open(path, durability, autoCompact: autoCompact)
    }
}

/// Runs a store call; an error stops the bench (a failed operation makes every figure meaningless).
@inline(__always)
func must<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) -> T {
    do { return try body() } catch { fail("\(what()) failed: \(error)") }
}
