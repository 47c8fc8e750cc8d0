import Logbook
import LogbookAgents

#if canImport(Glibc)
    import Glibc
#endif

// The agent-layer workloads: task_create (record + indexes + history in one transaction),
// task_list (a filtered, limited list on a store of N/2 tasks), claim_race_p4 (4 processes
// claiming the next ready task until none is left).

extension Bench {
    /// task_create then task_list, on one store: N/2 tasks created one per transaction, relaxed;
    /// then 10,000 lists of the first 20 open tasks.
    func agentTasks() -> [Measurement] {
        let scratch = ScratchDirectory(under: options.directory, "tasks")
        defer { scratch.remove() }
        let store = open(scratch.store, .relaxed)
        defer { store.close() }
        let board = AgentBoard(backend: store)
        let count = max(1000, sizes.n / 2)
        var latencies = [UInt64](repeating: 0, count: count)
        let start = Clock.now()
        var previous = start
        for i in 0..<count {
            must("createTask") { _ = try board.createTask(NewTask(title: "task \(i)", priority: i % 5), by: "bench") }
            let now = Clock.now()
            latencies[i] = now &- previous
            previous = now
        }
        let createSeconds = Clock.seconds(start, previous)
        let lists = 10_000
        let listStart = Clock.now()
        for _ in 0..<lists {
            let page = must("tasks") { try board.tasks(TaskQuery(status: .open, limit: 20)) }
            if page.count != 20 { fail("task_list: \(page.count) tasks listed, 20 expected") }
        }
        let listSeconds = Clock.seconds(listStart, Clock.now())
        let p = Percentiles(latencies)
        let createRate = Double(count) / createSeconds
        let perList = listSeconds / Double(lists) * 1e6
        return [
            Measurement(
                workload: "task_create",
                fields: [("ops_per_s", createRate), ("p50_us", p.value(0.5) / 1e3), ("p99_us", p.value(0.99) / 1e3)],
                figure: createRate, unit: "ops/s",
                details: "\(count) tasks, one transaction each (record, status and ready indexes, history), relaxed"),
            Measurement(
                workload: "task_list", fields: [("us_per_call", perList), ("ops_per_s", 1e6 / perList)],
                figure: 1e6 / perList, unit: "ops/s",
                details: "status open, limit 20, on \(count) tasks: \(Format.fixed(perList, 1)) µs per list"),
        ]
    }

    /// claim_race_p4: 4 processes claim the next ready task until none is left; every task must
    /// be claimed exactly once.
    func claimRace() -> Measurement {
        let scratch = ScratchDirectory(under: options.directory, "claims")
        defer { scratch.remove() }
        let tasks = max(200, sizes.n / 200)
        do {
            let store = open(scratch.store, .normal)
            let board = AgentBoard(backend: store)
            for i in 0..<tasks {
                must("createTask") { _ = try board.createTask(NewTask(title: "task \(i)"), by: "bench") }
            }
            store.close()
        }
        let processes = 4
        let go = Processes.pipe()
        let report = Processes.pipe()
        var pids: [pid_t] = []
        for index in 0..<processes {
            pids.append(
                Processes.spawnSelf(
                    ["--worker", "claim", "--dir", scratch.store, "--index", "\(index)"],
                    descriptors: [3: go.read, 4: report.write]))
        }
        close(report.write)
        close(go.read)
        for _ in 0..<processes where Processes.readWord(report.read) == nil {
            fail("claim_race: a worker died before starting")
        }
        let start = Clock.now()
        let signal = [UInt8](repeating: 1, count: processes)
        guard write(go.write, signal, processes) == processes else { fail("claim_race: cannot signal workers") }
        var end: UInt64 = 0
        var claimed = 0
        for _ in 0..<processes {
            guard let count = Processes.readWord(report.read), let finished = Processes.readWord(report.read) else {
                fail("claim_race: a worker died")
            }
            claimed += Int(count)
            end = max(end, finished)
        }
        close(report.read)
        close(go.write)
        for pid in pids where Processes.exitCode(Processes.wait(pid)) != 0 { fail("claim_race: a worker failed") }
        let store = open(scratch.store, .normal)
        defer { store.close() }
        let board = AgentBoard(backend: store)
        let unclaimed = must("tasks") { try board.tasks(TaskQuery(status: .open, ready: true)) }.count
        if claimed != tasks || unclaimed != 0 {
            fail("claim_race: \(claimed) claims of \(tasks) tasks, \(unclaimed) still ready")
        }
        let rate = Double(tasks) / Clock.seconds(start, end)
        return Measurement(
            workload: "claim_race_p\(processes)", fields: [("ops_per_s", rate)], figure: rate, unit: "claims/s",
            details: "\(processes) processes claim --next until none is left, \(tasks) tasks, each claimed once",
            floor: .sync)
    }
}

extension Worker {
    /// Claims the next ready task (normal durability) until none is left; reports the count and
    /// the finishing time.
    static func claim(directory: String, index: Int) -> Never {
        let store = open(directory, .normal)
        let board = AgentBoard(backend: store)
        Processes.writeWord(4, 0)
        var byte: UInt8 = 0
        while read(3, &byte, 1) < 0 && errno == EINTR {}
        var claimed: UInt64 = 0
        while must("claimNextTask", { try board.claimNextTask(agent: "bench-\(index)") }) != nil { claimed += 1 }
        Processes.writeWords(4, [claimed, Clock.now()])
        store.close()
        exit(0)
    }
}
