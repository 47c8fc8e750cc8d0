@_spi(Testing) import Logbook
@_spi(Testing) import LogbookTestSupport
import Testing

@_spi(Testing) @testable import LogbookAgents

/// Random operation sequences, then the checker: every index entry and edge must be exactly
/// what the records imply. Also: the checker catches damage, and crashes at every disk change
/// leave the indexes agreeing with the records.
@Suite struct ConsistencyTests {
    /// Runs `count` random operations (failing ones included: they must change nothing).
    static func randomOperations(
        _ board: AgentBoard, _ clock: TestClock, _ rng: inout SeededGenerator, count: Int
    ) throws {
        var tasks: [String] = []
        var handoffs: [String] = []
        let agents = ["a1", "a2", "a3"]
        let labels = ["ui", "core", "db"]
        func pick<T>(_ values: [T]) -> T? {
            values.isEmpty ? nil : values[Int.random(in: 0..<values.count, using: &rng)]
        }
        for _ in 0..<count {
            do {
                switch Int.random(in: 0..<20, using: &rng) {
                case 0...3:
                    var new = NewTask(title: "t\(tasks.count)", priority: Int.random(in: 0...4, using: &rng))
                    if Bool.random(using: &rng), let label = pick(labels) { new.labels = [label] }
                    if Bool.random(using: &rng), let dependency = pick(tasks) { new.dependsOn = [dependency] }
                    if Int.random(in: 0..<6, using: &rng) == 0, let blocked = pick(tasks) {
                        new.blocks = [blocked]
                    }
                    tasks.append(try board.createTask(new, by: pick(agents)!).id)
                case 4:
                    guard let id = pick(tasks) else { continue }
                    var update = TaskUpdate()
                    switch Int.random(in: 0..<6, using: &rng) {
                    case 0: update.priority = Int.random(in: 0...4, using: &rng)
                    case 1: update.status = pick(TaskStatus.allCases)
                    case 2: update.assignee = Bool.random(using: &rng) ? .set(pick(agents)!) : .clear
                    case 3: update.addLabels = [pick(labels)!]
                    case 4: update.removeLabels = [pick(labels)!]
                    default: update.note = "note"
                    }
                    try board.updateTask(id, update, by: pick(agents)!)
                case 5:
                    guard let id = pick(tasks) else { continue }
                    try board.startTask(id, by: pick(agents)!, enforceClaim: Bool.random(using: &rng))
                case 6, 7:
                    guard let id = pick(tasks) else { continue }
                    try board.completeTask(
                        id, retrospective: "r", by: pick(agents)!, enforceClaim: Bool.random(using: &rng))
                case 8:
                    guard let id = pick(tasks) else { continue }
                    try board.blockTask(
                        id, reason: "because", blocker: Bool.random(using: &rng) ? pick(tasks) : nil, by: "a1"
                    )
                case 9:
                    guard let id = pick(tasks), let other = pick(tasks) else { continue }
                    try board.setDependencies(id, on: [other], remove: Bool.random(using: &rng), by: "a2")
                case 10:
                    guard let id = pick(tasks), Int.random(in: 0..<3, using: &rng) == 0 else { continue }
                    try board.deleteTask(id, by: "a3")
                case 11, 12:
                    _ = try board.claimNextTask(
                        agent: pick(agents)!, leaseSeconds: Double(Int.random(in: 1...30, using: &rng)))
                case 13:
                    guard let id = pick(tasks) else { continue }
                    try board.claimTask(id, agent: pick(agents)!, leaseSeconds: 20)
                case 14:
                    guard let id = pick(tasks) else { continue }
                    try board.releaseTask(id, by: pick(agents)!, enforceClaim: Bool.random(using: &rng))
                case 15:
                    clock.advance(seconds: Double(Int.random(in: 1...15, using: &rng)))
                case 16:
                    try board.logDecision(
                        "d", alternatives: ["x"], affects: pick(tasks).map { [$0] } ?? [], by: "a1")
                case 17:
                    let from = pick(agents)!
                    let to = agents.first { $0 != from }!
                    handoffs.append(
                        try board.initiateHandoff(from: from, to: to, task: pick(tasks), instructions: "go")
                            .id)
                case 18:
                    guard let id = pick(handoffs) else { continue }
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: try board.acceptHandoff(id)
                    case 1: try board.completeHandoff(id, result: "ok")
                    default: try board.rejectHandoff(id, reason: "no")
                    }
                default:
                    _ = try board.expireLapsedLeases(by: "janitor")
                }
            } catch is AgentError {
                // An operation the state refused (lost claim, forbidden move, deleted task, ...).
            }
        }
    }

    /// The ready tasks computed from the raw records alone (no index), in claim order.
    static func readyFromRecords(_ backend: any KeyValueBackend, now: Timestamp) throws -> [String] {
        let records = try backend.scan(KeyRange(prefix: Array("ag/t/".utf8)))
        var tasks: [String: TaskRecord] = [:]
        for pair in records {
            let id = String(decoding: pair.key.dropFirst(5), as: UTF8.self)
            tasks[id] = try TaskRecord(id: id, decoding: pair.value)
        }
        return tasks.values.filter { task in
            let free = (task.status == .open && task.assignee == nil) || task.leaseLapsed(at: now)
            return free && task.dependsOn.allSatisfy { tasks[$0]?.status == .done }
        }.sorted { ($0.priority, $0.id) < ($1.priority, $1.id) }.map(\.id)
    }

    @Test(arguments: [1, 2, 3, 4])
    func randomSequencesKeepIndexesConsistentOnLogbook(seed: UInt64) throws {
        try withBoard(autoCompactLogBytes: 64 << 10) { f in
            var rng = SeededGenerator(seed: seed)
            for _ in 0..<5 {
                try Self.randomOperations(f.board, f.clock, &rng, count: 80)
                let report = try f.board.verifyIndexes()
                #expect(report.problems == [])
                #expect(report.tasks > 0)
                #expect(
                    try f.board.readyTasks().map(\.id) == Self.readyFromRecords(f.store, now: f.clock.now))
            }
            // Reopened from disk (snapshot + log), the same.
            let reopened = try Store(path: f.path, options: StoreOptions(durability: .relaxed))
            defer { reopened.close() }
            #expect(try AgentBoard(backend: reopened).verifyIndexes().problems == [])
        }
    }

    /// The same layer, unchanged, on a second backend.
    @Test(arguments: [5, 6])
    func randomSequencesKeepIndexesConsistentOnAnotherBackend(seed: UInt64) throws {
        let backend = MemoryBackend()
        let clock = TestClock()
        let board = AgentBoard(backend: backend, defaultLeaseSeconds: 60, clock: { clock.now })
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<4 {
            try Self.randomOperations(board, clock, &rng, count: 80)
            #expect(try board.verifyIndexes().problems == [])
            #expect(try board.readyTasks().map(\.id) == Self.readyFromRecords(backend, now: clock.now))
        }
        #expect(backend.count > 100)
    }

    @Test func theCheckerFindsMissingLeftOverAndDanglingEntries() throws {
        try withBoard { f in
            let a = try f.board.createTask(NewTask(title: "a", labels: ["ui"]), by: "p").id
            let b = try f.board.createTask(NewTask(title: "b", dependsOn: [a]), by: "p").id
            #expect(try f.board.verifyIndexes().isConsistent)
            // Lose a's label entry; leave a stray ready entry for b; drop b's history head.
            try f.store.delete(Array("ag/i/tl/ui\u{0}2\(a)".utf8))
            try f.store.put(Array("ag/i/tr/2\(b)".utf8), [])
            try f.store.delete(Array("ag/log/\(b)/0000000000000001".utf8))
            let report = try f.board.verifyIndexes()
            #expect(
                report.problems == [
                    "\(b): no history entry for revision 1",
                    "missing: ag/i/tl/ui\\02\(a)",
                    "left over: ag/i/tr/2\(b)",
                ])
            // A record whose dependency vanished, and one that does not decode.
            try f.store.delete(Array("ag/t/\(a)".utf8))
            try f.store.put(Array("ag/t/T-20251226-112725-00000000".utf8), [1, 1, 0x03])
            let worse = try f.board.verifyIndexes()
            #expect(worse.problems.contains("\(b): depends on \(a), which does not exist"))
            #expect(
                worse.problems.contains(
                    "task T-20251226-112725-00000000: stored record is damaged (varint runs past the end)"))
            #expect(!worse.isConsistent)
        }
    }

    /// Dies at every disk change of a workload (with compactions in it), reopens, and checks
    /// that the indexes agree with whatever records survived.
    @Test func crashesAtEveryStepLeaveIndexesConsistent() throws {
        var step = 1
        var finished = false
        while !finished {
            let directory = temporaryDirectory()
            defer { removeTree(directory) }
            let path = directory + "/store"
            let layer = DyingFileLayer(changesBeforeDeath: step)
            var options = StoreOptions(durability: .relaxed, autoCompactLogBytes: 12 << 10)
            options.fileLayer = layer
            let clock = TestClock()
            do {
                let store = try Store(path: path, options: options)
                let board = AgentBoard(backend: store, defaultLeaseSeconds: 5, clock: { clock.now })
                var rng = SeededGenerator(seed: 42)
                try Self.randomOperations(board, clock, &rng, count: 50)
                store.close()
                finished = !layer.isDead
                if finished {
                    // The workload did compact (so crashes inside compaction were covered).
                    let files = try PosixFileLayer().listDirectory(path)
                    #expect(files.contains { $0.hasPrefix("snapshot-") && $0.hasSuffix(".dat") }, "\(files)")
                    #expect(files.contains { $0.hasPrefix("log-") && $0 != "log-1.wal" }, "\(files)")
                }
            } catch is AgentError {
                Issue.record("an agent error escaped the random operations")
            } catch {
                // The "process" died here.
            }
            let reopened = try Store(path: path, options: StoreOptions(durability: .relaxed))
            #expect(
                try AgentBoard(backend: reopened).verifyIndexes().problems == [],
                "died at disk change \(step)")
            reopened.close()
            step += 1
        }
        #expect(step > 50, "the workload makes more than 50 disk changes")
    }
}
