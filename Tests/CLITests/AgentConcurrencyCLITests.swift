import Logbook
import LogbookAgents
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

@Suite struct AgentConcurrencyCLITests {
    /// Creates `count` ready tasks through the library (faster than 100 processes).
    private func createTasks(_ f: Fixture, count: Int) throws -> [String] {
        let store = try Store(path: f.store, options: StoreOptions(durability: .relaxed))
        defer { store.close() }
        let board = AgentBoard(backend: store)
        return try (0..<count).map {
            try board.createTask(NewTask(title: "task \($0)", priority: $0 % 5), by: "setup").id
        }
    }

    /// 8 processes, each a shell loop of `logbook task claim --next --agent aN` until it
    /// fails, over 100 ready tasks: every task is claimed exactly once, by the agent that
    /// printed it, and every loop ends with exit 1 "nothing ready" and no other error.
    @Test func eightProcessesClaimEveryTaskExactlyOnce() throws {
        try withFixture { f in
            let ids = try createTasks(f, count: 100)
            let loop =
                "while :; do \"$0\" --store \"$1\" task claim --next --agent \"$2\"; s=$?; [ $s -eq 0 ] || exit $s; done"
            let children = (0..<8).map { n in
                Child(
                    executable: "/bin/sh",
                    arguments: ["-c", loop, CLI.binary, f.store, "a\(n)"].map { Array($0.utf8) },
                    environment: CLI.environment())
            }
            var claimedBy: [String: [String]] = [:]
            for (n, child) in children.enumerated() {
                let result = child.finish()
                #expect(result.status == 1, "agent a\(n)")
                #expect(result.err == "logbook: nothing ready to claim in \(f.store)\n", "agent a\(n)")
                for id in result.out.split(separator: "\n") {
                    claimedBy[String(id), default: []].append("a\(n)")
                }
            }
            #expect(claimedBy.count == 100)
            #expect(Set(claimedBy.keys) == Set(ids))
            #expect(claimedBy.values.allSatisfy { $0.count == 1 })
            // The store agrees: each task in progress, held by the agent that printed it.
            let store = try Store(path: f.store)
            defer { store.close() }
            let board = AgentBoard(backend: store)
            for (id, agents) in claimedBy {
                let task = try board.task(id)
                #expect(task.status == .inProgress)
                #expect(task.assignee == agents.first)
                #expect(try board.history(of: id).map(\.action) == ["created", "claimed"])
            }
            #expect(try board.readyTasks().isEmpty)
            #expect(try board.verifyIndexes().problems == [])
        }
    }

    /// 4 processes each add 10 labels and 10 notes to the same task, one update per process
    /// run: no update is lost (optimistic transactions, retried on conflict).
    @Test func concurrentUpdatesFromProcessesLoseNoField() throws {
        try withFixture { f in
            let id = try createTasks(f, count: 1)[0]
            let loop =
                "i=0; while [ $i -lt 10 ]; do \"$0\" --store \"$1\" task update \"$2\" --add-label \"$3-$i\" --note \"$3 note $i\" --agent \"$3\" >/dev/null || exit 1; i=$((i+1)); done"
            let children = (0..<4).map { n in
                Child(
                    executable: "/bin/sh",
                    arguments: ["-c", loop, CLI.binary, f.store, id, "p\(n)"].map { Array($0.utf8) },
                    environment: CLI.environment())
            }
            for child in children {
                let result = child.finish()
                #expect(result.status == 0)
                #expect(result.err == "")
            }
            let store = try Store(path: f.store)
            defer { store.close() }
            let board = AgentBoard(backend: store)
            let task = try board.task(id)
            let expected = (0..<4).flatMap { n in (0..<10).map { "p\(n)-\($0)" } }
            #expect(task.labels == expected.sorted())
            #expect(
                Set(task.notes.map(\.text))
                    == Set((0..<4).flatMap { n in (0..<10).map { "p\(n) note \($0)" } }))
            #expect(task.revision == 41)
            #expect(try board.history(of: id).map(\.revision) == Array(1...41))
            #expect(try board.verifyIndexes().problems == [])
        }
    }

    /// `logbook task` processes killed with SIGKILL at random moments (some mid-commit):
    /// afterwards every index entry still agrees with the records.
    @Test func killedProcessesLeaveIndexesConsistent() throws {
        try withFixture { f in
            var ids = try createTasks(f, count: 10)
            var generator = SystemRandomNumberGenerator()
            var killed = 0
            for round in 0..<60 {
                let arguments: [String]
                switch round % 4 {
                case 0:
                    arguments = [
                        "task", "create", "t\(round)", "--depends-on", ids.randomElement(using: &generator)!,
                    ]
                case 1: arguments = ["task", "claim", "--next", "--agent", "k\(round)", "--lease", "0.001"]
                case 2: arguments = ["task", "complete", ids.randomElement(using: &generator)!]
                default:
                    arguments = ["task", "block", ids.randomElement(using: &generator)!, "--reason", "r"]
                }
                let child = Child(
                    executable: CLI.binary,
                    arguments: (["--store", f.store] + arguments).map { Array($0.utf8) },
                    environment: CLI.environment())
                usleep(UInt32.random(in: 0...9000, using: &generator))
                kill(child.pid, SIGKILL)
                let result = child.finish()
                if result.status == 128 + SIGKILL { killed += 1 }
                if result.status == 0, round % 4 == 0 { ids.append(String(result.out.dropLast())) }
            }
            #expect(killed > 0)
            let verify = f.run("task", "verify")
            #expect(verify.status == 0)
            #expect(verify.out.hasPrefix("ok: "))
            // The store still takes writes.
            #expect(f.run("task", "create", "after").status == 0)
        }
    }
}
