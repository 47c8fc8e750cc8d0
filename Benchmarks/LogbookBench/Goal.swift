/// A performance goal of issue 3, checked against this run's figures and floors. A goal that
/// cannot be checked yet has no value and no verdict; one that is not met says so.
struct Goal {
    var workload: String
    var text: String
    /// The figure compared: a ratio to a floor, or the workload's own figure.
    var value: Double?
    var met: Bool?
    var note: String? = nil

    /// The goals for the workloads in `results`.
    static func evaluate(_ results: [Measurement], floors: [Floor: Double]) -> [Goal] {
        func ratio(_ workload: String, _ minimum: Double, _ floor: Floor) -> Goal? {
            guard let m = results.first(where: { $0.workload == workload }) else { return nil }
            let text =
                ">= \(minimum == minimum.rounded() ? String(Int(minimum)) : String(minimum))x \(floor.rawValue) floor"
            guard let figure = m.figure, let base = floors[floor] else {
                return Goal(workload: workload, text: text, value: nil, met: nil)
            }
            return Goal(workload: workload, text: text, value: figure / base, met: figure / base >= minimum)
        }
        func figure(_ workload: String, _ text: String, _ check: (Double) -> Bool, note: String? = nil)
            -> Goal?
        {
            guard let m = results.first(where: { $0.workload == workload }) else { return nil }
            return Goal(workload: workload, text: text, value: m.figure, met: m.figure.map(check), note: note)
        }
        func unmeasurable(_ workload: String, _ text: String, _ note: String) -> Goal? {
            guard results.contains(where: { $0.workload == workload }) else { return nil }
            return Goal(workload: workload, text: text, value: nil, met: nil, note: note)
        }
        let goals: [Goal?] = [
            ratio("fill_nosync", 0.5, .append),
            ratio("fill_batch", 0.1, .append),
            ratio("fill_sync", 0.9, .sync),
            ratio("read_hot", 0.2, .lookup),
            ratio("read_miss", 0.2, .lookup),
            unmeasurable(
                "scan_all", ">= 1.5x SQLite", "checked by Benchmarks/compare/run.sh (SQLite side by side)"),
            ratio("concurrent_sync_t8", 3, .sync),
            ratio("multiprocess_sync_p4", 1.5, .sync),
            figure("reopen", "<= 1 ms (200k keys, compacted)", { $0 <= 1 }),
            figure("recover", ">= 2M records/s", { $0 >= 2_000_000 }),
            figure("disk_bytes", "<= 1.2x raw after compact", { $0 <= 1.2 }),
            figure("rss", "<= 64 MiB (fill + read)", { $0 <= 64 }),
            figure("task_create", ">= 100,000 ops/s (issue 7)", { $0 >= 100_000 }),
        ]
        return goals.compactMap { $0 }
    }
}
