import Testing

@testable import LogbookAgents

@Suite struct QueryTests {
    /// 60 tasks: priorities 0-4, labels, some assigned, some done, some waiting.
    private func populate(_ board: AgentBoard, _ clock: TestClock) throws -> [TaskRecord] {
        var tasks: [TaskRecord] = []
        for i in 0..<60 {
            clock.advance(seconds: 1)
            var new = NewTask(
                title: "task \(i)", priority: (i * 7) % 5, labels: i % 3 == 0 ? ["ui"] : ["core"])
            if i % 10 == 9 { new.dependsOn = [tasks[i - 1].id] }
            tasks.append(try board.createTask(new, by: "p"))
        }
        for i in stride(from: 0, to: 60, by: 4) { try board.claimTask(tasks[i].id, agent: "a\(i % 3)") }
        for i in stride(from: 1, to: 60, by: 8) { try board.completeTask(tasks[i].id, by: "w") }
        try board.blockTask(tasks[2].id, reason: "r", by: "w")
        return try tasks.map { try board.task($0.id) }
    }

    private func ranked(_ tasks: [TaskRecord]) -> [String] {
        tasks.sorted { ($0.priority, $0.id) < ($1.priority, $1.id) }.map(\.id)
    }

    @Test func filtersAgreeWithTheRecords() throws {
        try withBoard { f in
            let all = try populate(f.board, f.clock)
            func done(_ t: TaskRecord) -> Bool {
                t.dependsOn.allSatisfy { d in all.first { $0.id == d }!.status == .done }
            }
            #expect(try f.board.tasks().map(\.id) == ranked(all))
            for status in TaskStatus.allCases {
                #expect(
                    try f.board.tasks(TaskQuery(status: status)).map(\.id)
                        == ranked(all.filter { $0.status == status }))
            }
            for priority in 0...4 {
                #expect(
                    try f.board.tasks(TaskQuery(priority: priority)).map(\.id)
                        == ranked(all.filter { $0.priority == priority }))
                #expect(
                    try f.board.tasks(TaskQuery(status: .open, priority: priority)).map(\.id)
                        == ranked(all.filter { $0.priority == priority && $0.status == .open }))
            }
            #expect(
                try f.board.tasks(TaskQuery(label: "ui")).map(\.id)
                    == ranked(all.filter { $0.labels == ["ui"] }))
            #expect(
                try f.board.tasks(TaskQuery(status: .inProgress, label: "ui")).map(\.id)
                    == ranked(all.filter { $0.labels == ["ui"] && $0.status == .inProgress }))
            #expect(
                try f.board.tasks(TaskQuery(assignee: "a1")).map(\.id)
                    == ranked(all.filter { $0.assignee == "a1" }))
            let ready = all.filter { $0.status == .open && $0.assignee == nil && done($0) }
            #expect(try f.board.tasks(TaskQuery(ready: true)).map(\.id) == ranked(ready))
            #expect(
                try f.board.tasks(TaskQuery(label: "core", ready: true)).map(\.id)
                    == ranked(ready.filter { $0.labels == ["core"] }))
            let waiting = all.filter {
                $0.status == .blocked || (($0.status == .open || $0.status == .inProgress) && !done($0))
            }
            #expect(!waiting.isEmpty)
            #expect(try f.board.tasks(TaskQuery(blocked: true)).map(\.id) == ranked(waiting))
            // Limits keep the order.
            #expect(try f.board.tasks(TaskQuery(limit: 7)).map(\.id) == Array(ranked(all).prefix(7)))
            #expect(
                try f.board.tasks(TaskQuery(status: .open, limit: 5)).map(\.id)
                    == Array(ranked(all.filter { $0.status == .open }).prefix(5)))
            #expect(try f.board.tasks(TaskQuery(limit: 0)) == [])
            // Other orders.
            #expect(try f.board.tasks(TaskQuery(sort: .created)).map(\.id) == all.map(\.id))
            #expect(
                try f.board.tasks(TaskQuery(limit: 3, sort: .created)).map(\.id) == all.prefix(3).map(\.id))
            let byUpdate = all.sorted { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) }.map(\.id)
            #expect(try f.board.tasks(TaskQuery(sort: .updated)).map(\.id) == byUpdate)
            #expect(
                try f.board.tasks(TaskQuery(status: .open, limit: 4, sort: .created)).map(\.id)
                    == Array(all.filter { $0.status == .open }.map(\.id).prefix(4)))
        }
    }

    /// A listing whose index entries are filtered further (here the label index, filtered by
    /// status) reads them in batches of 256: each batch goes on just past the last entry of
    /// the one before, so every match comes once, in index order.
    @Test func aFilteredListingReadsOnPastEachBatch() throws {
        try withBoard { f in
            var tasks: [TaskRecord] = []
            for i in 0..<700 {
                tasks.append(
                    try f.board.createTask(NewTask(title: "t\(i)", priority: i % 5, labels: ["x"]), by: "p"))
            }
            for (i, task) in tasks.enumerated() where i % 7 == 3 {
                try f.board.completeTask(task.id, by: "w", enforceClaim: false)
            }
            let open = tasks.enumerated().filter { $0.offset % 7 != 3 }.map(\.element)
            let done = tasks.enumerated().filter { $0.offset % 7 == 3 }.map(\.element)
            #expect(try f.board.tasks(TaskQuery(status: .open, label: "x")).map(\.id) == ranked(open))
            #expect(try f.board.tasks(TaskQuery(status: .done, label: "x")).map(\.id) == ranked(done))
            #expect(
                try f.board.tasks(TaskQuery(status: .open, label: "x", limit: 300)).map(\.id)
                    == Array(ranked(open).prefix(300)))
        }
    }

    /// `list --status open --limit 20` reads 20 index entries and 20 records, however many
    /// tasks there are; so does the ready list.
    @Test func aLimitedListingTouchesOnlyWhatItReturns() throws {
        try withBoard { f in
            let counting = CountingBackend(f.store)
            let board = AgentBoard(backend: counting, clock: { f.clock.now })
            for i in 0..<600 { try board.createTask(NewTask(title: "t\(i)", priority: i % 5), by: "p") }
            counting.reset()
            let open = try board.tasks(TaskQuery(status: .open, limit: 20))
            #expect(open.count == 20)
            #expect(counting.scanned.load(ordering: .relaxed) == 20)
            #expect(counting.gets.load(ordering: .relaxed) == 20)
            counting.reset()
            let ready = try board.tasks(TaskQuery(ready: true, limit: 20))
            #expect(ready.map(\.id) == open.map(\.id))
            #expect(counting.scanned.load(ordering: .relaxed) == 20)  // no lease has lapsed: none to merge
            #expect(counting.gets.load(ordering: .relaxed) == 20)
            counting.reset()
            _ = try board.tasks(TaskQuery(status: .open, priority: 3, limit: 20))
            #expect(counting.scanned.load(ordering: .relaxed) == 20)
            #expect(counting.gets.load(ordering: .relaxed) == 20)
        }
    }
}
