import Testing

@_spi(Testing) @testable import LogbookAgents

@Suite struct TaskTests {
    @Test func createShowAndHistory() throws {
        try withBoard { f in
            let task = try f.board.createTask(
                NewTask(
                    title: "Write the parser", description: "recursive descent", priority: 1,
                    labels: ["core", "api", "core"]),
                by: "planner")
            #expect(RecordID.isValid(task.id, kind: .task))
            #expect(task.id.hasPrefix("T-20251226-112725-"))
            #expect(task.status == .open)
            #expect(task.priority == 1)
            #expect(task.labels == ["api", "core"])
            #expect(task.assignee == nil)
            #expect(task.revision == 1)
            #expect(task.createdBy == "planner")
            #expect(task.createdAt == f.clock.now)
            #expect(try f.board.task(task.id) == task)

            let history = try f.board.history(of: task.id)
            #expect(history.count == 1)
            #expect(history[0].revision == 1)
            #expect(history[0].by == "planner")
            #expect(history[0].action == "created")
            #expect(history[0].at == f.clock.now)
            #expect(
                history[0].changes == [
                    FieldChange(field: "title", old: nil, new: "Write the parser"),
                    FieldChange(field: "description", old: nil, new: "recursive descent"),
                    FieldChange(field: "status", old: nil, new: "open"),
                    FieldChange(field: "priority", old: nil, new: "1"),
                    FieldChange(field: "labels", old: nil, new: "api,core"),
                ])
        }
    }

    @Test func idsHaveTheSourceShapeAndAreUnique() throws {
        #expect(
            RecordID.make(.task, at: Timestamp(milliseconds: 1_766_748_445_123), random: 0x6e0c_ec19)
                == "T-20251226-112725-6e0cec19")
        #expect(
            RecordID.make(.decision, at: Timestamp(milliseconds: 0), random: 0xF)
                == "D-19700101-000000-0000000f")
        #expect(
            RecordID.make(.handoff, at: Timestamp(milliseconds: 951_782_400_000), random: 0xABCD_EF01)
                == "H-20000229-000000-abcdef01")
        #expect(RecordID.isValid("T-20251226-112725-6e0cec19", kind: .task))
        #expect(!RecordID.isValid("T-20251226-112725-6E0CEC19", kind: .task))
        #expect(!RecordID.isValid("D-20251226-112725-6e0cec19", kind: .task))
        #expect(!RecordID.isValid("T-20251226-112725-6e0cec1", kind: .task))
        #expect(!RecordID.isValid("T-2025122a-112725-6e0cec19", kind: .task))
        try withBoard { f in
            // All in the same (test) second: only the random part differs.
            var ids: Set<String> = []
            for i in 0..<300 { ids.insert(try f.board.createTask(NewTask(title: "t\(i)"), by: "a").id) }
            #expect(ids.count == 300)
        }
    }

    @Test func timestampsFormatAsUTC() {
        #expect(Timestamp(milliseconds: 1_766_748_445_123).iso8601 == "2025-12-26T11:27:25.123Z")
        #expect(Timestamp(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 951_868_799_999).iso8601 == "2000-02-29T23:59:59.999Z")
        #expect(Timestamp(milliseconds: 4_107_542_400_000).short == "2100-03-01 00:00:00")
        #expect(Timestamp(milliseconds: -1).iso8601 == "1969-12-31T23:59:59.999Z")
    }

    @Test func updateChangesFieldsAndRecordsWhatChanged() throws {
        try withBoard { f in
            let task = try f.board.createTask(NewTask(title: "Old", labels: ["a"]), by: "planner")
            f.clock.advance(seconds: 5)
            let updated = try f.board.updateTask(
                task.id,
                TaskUpdate(
                    title: "New", priority: 0, assignee: .set("w1"), addLabels: ["b"], removeLabels: ["a"],
                    note: "looked at it"),
                by: "lead")
            #expect(updated.title == "New")
            #expect(updated.priority == 0)
            #expect(updated.assignee == "w1")
            #expect(updated.labels == ["b"])
            #expect(updated.notes == [TaskNote(at: f.clock.now, by: "lead", text: "looked at it")])
            #expect(updated.revision == 2)
            #expect(updated.updatedAt == f.clock.now)
            #expect(updated.createdAt == task.createdAt)
            let entry = try f.board.history(of: task.id)[1]
            #expect(entry.revision == 2)
            #expect(entry.by == "lead")
            #expect(entry.action == "updated")
            #expect(
                entry.changes == [
                    FieldChange(field: "title", old: "Old", new: "New"),
                    FieldChange(field: "priority", old: "2", new: "0"),
                    FieldChange(field: "labels", old: "a", new: "b"),
                    FieldChange(field: "assignee", old: nil, new: "w1"),
                    FieldChange(field: "note", old: nil, new: "looked at it"),
                ])
            // An update that changes nothing writes nothing.
            let before = try allPairs(f.store)
            #expect(try f.board.updateTask(task.id, TaskUpdate(title: "New"), by: "lead") == updated)
            #expect(try allPairs(f.store) == before)
        }
    }

    @Test func statusMachine() throws {
        try withBoard { f in
            let id = try f.board.createTask(NewTask(title: "t"), by: "a").id
            #expect(try f.board.startTask(id, by: "w1").status == .inProgress)
            #expect(try f.board.task(id).assignee == "w1")
            let done = try f.board.completeTask(id, retrospective: "easy", by: "w1")
            #expect(done.status == .done)
            #expect(done.retrospective == "easy")
            #expect(done.closedAt == f.clock.now)
            // Forbidden moves fail with conflict and change nothing.
            let before = try allPairs(f.store)
            expectAgentError(.conflict) { try f.board.completeTask(id, by: "w1") }
            expectAgentError(.conflict) { try f.board.startTask(id, by: "w1") }
            expectAgentError(.conflict) { try f.board.blockTask(id, reason: "x", by: "w1") }
            expectAgentError(.conflict) {
                try f.board.updateTask(id, TaskUpdate(status: .inProgress), by: "w1")
            }
            expectAgentError(.conflict) {
                try f.board.updateTask(id, TaskUpdate(status: .cancelled), by: "w1")
            }
            #expect(try allPairs(f.store) == before)
            // Reopen: closedAt and retrospective go.
            let reopened = try f.board.updateTask(id, TaskUpdate(status: .open), by: "lead")
            #expect(reopened.status == .open)
            #expect(reopened.closedAt == nil)
            #expect(reopened.retrospective == nil)
            // blocked -> done is not allowed; blocked -> open is.
            let blocked = try f.board.blockTask(id, reason: "waiting for review", by: "w1")
            #expect(blocked.status == .blocked)
            #expect(blocked.blockedReason == "waiting for review")
            expectAgentError(.conflict) { try f.board.completeTask(id, by: "w1") }
            let unblocked = try f.board.updateTask(id, TaskUpdate(status: .open), by: "w1")
            #expect(unblocked.blockedReason == nil)
            #expect(try f.board.updateTask(id, TaskUpdate(status: .cancelled), by: "w1").status == .cancelled)
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }

    @Test func everyAllowedMoveIsTheTable() {
        let allowed: Set<String> = [
            "open>in_progress", "open>blocked", "open>done", "open>cancelled", "in_progress>open",
            "in_progress>blocked", "in_progress>done", "in_progress>cancelled", "blocked>open",
            "blocked>in_progress", "blocked>cancelled", "done>open", "cancelled>open",
        ]
        for from in TaskStatus.allCases {
            for to in TaskStatus.allCases where to != from {
                #expect(from.canMove(to: to) == allowed.contains("\(from.rawValue)>\(to.rawValue)"))
            }
        }
    }

    @Test func dependenciesGateReadiness() throws {
        try withBoard { f in
            // Ids order tasks of one priority by creation time to the second: a second apart.
            let a = try f.board.createTask(NewTask(title: "a"), by: "p").id
            f.clock.advance(seconds: 1)
            let b = try f.board.createTask(NewTask(title: "b"), by: "p").id
            let c = try f.board.createTask(NewTask(title: "c", dependsOn: [a, b]), by: "p").id
            #expect(try f.board.readyTasks().map(\.id) == [a, b])
            #expect(try f.board.tasks(TaskQuery(blocked: true)).map(\.id) == [c])
            #expect(try f.board.taskDetails(a).blocks == [c])
            try f.board.completeTask(a, by: "w")
            #expect(try f.board.readyTasks().map(\.id) == [b])
            try f.board.completeTask(b, by: "w")
            #expect(try f.board.readyTasks().map(\.id) == [c])
            #expect(try f.board.taskDetails(c).ready)
            #expect(try f.board.tasks(TaskQuery(blocked: true)).isEmpty)
            // Reopening a dependency makes c wait again.
            try f.board.updateTask(a, TaskUpdate(status: .open), by: "p")
            #expect(try f.board.readyTasks().map(\.id) == [a])
            #expect(try f.board.tasks(TaskQuery(blocked: true)).map(\.id) == [c])
            // Removing the dependency frees it.
            try f.board.setDependencies(c, on: [a], remove: true, by: "p")
            #expect(try f.board.task(c).dependsOn == [b])
            #expect(Set(try f.board.readyTasks().map(\.id)) == [a, c])
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }

    @Test func cyclesAndSelfDependenciesAreRefused() throws {
        try withBoard { f in
            let a = try f.board.createTask(NewTask(title: "a"), by: "p").id
            let b = try f.board.createTask(NewTask(title: "b", dependsOn: [a]), by: "p").id
            let c = try f.board.createTask(NewTask(title: "c", dependsOn: [b]), by: "p").id
            let before = try allPairs(f.store)
            let message = expectAgentError(.conflict) { try f.board.setDependencies(a, on: [c], by: "p") }
            #expect(message == "task \(a) cannot depend on \(c): \(c) already depends on \(a)")
            expectAgentError(.invalidArgument) { try f.board.setDependencies(a, on: [a], by: "p") }
            expectAgentError(.conflict) { try f.board.blockTask(a, reason: "r", blocker: c, by: "p") }
            expectAgentError(.conflict) {
                try f.board.createTask(NewTask(title: "d", dependsOn: [c], blocks: [a]), by: "p")
            }
            expectAgentError(.notFound) {
                try f.board.setDependencies(a, on: ["T-20251226-112725-00000000"], by: "p")
            }
            #expect(try allPairs(f.store) == before)
        }
    }

    @Test func blockWithABlockerAddsTheDependency() throws {
        try withBoard { f in
            let a = try f.board.createTask(NewTask(title: "a"), by: "p").id
            let b = try f.board.createTask(NewTask(title: "b"), by: "p").id
            let blocked = try f.board.blockTask(b, reason: "needs a", blocker: a, by: "w")
            #expect(blocked.blocker == a)
            #expect(blocked.dependsOn == [a])
            #expect(try f.board.taskDetails(a).blocks == [b])
            #expect(try f.board.tasks(TaskQuery(blocked: true)).map(\.id) == [b])
            #expect(try f.board.history(of: b).last?.action == "blocked")
        }
    }

    @Test func createWithBlocksMakesOthersWait() throws {
        try withBoard { f in
            let later = try f.board.createTask(NewTask(title: "later"), by: "p").id
            let first = try f.board.createTask(NewTask(title: "first", blocks: [later]), by: "p").id
            #expect(try f.board.task(later).dependsOn == [first])
            #expect(try f.board.task(later).revision == 2)
            #expect(try f.board.readyTasks().map(\.id) == [first])
        }
    }

    @Test func deleteRemovesEverythingButHistory() throws {
        try withBoard { f in
            let a = try f.board.createTask(NewTask(title: "a", labels: ["x"]), by: "p").id
            let b = try f.board.createTask(NewTask(title: "b", dependsOn: [a]), by: "p").id
            try f.board.claimTask(a, agent: "w")
            try f.board.deleteTask(a, by: "p")
            expectAgentError(.notFound) { try f.board.task(a) }
            expectAgentError(.notFound) { try f.board.deleteTask(a, by: "p") }
            #expect(try f.board.task(b).dependsOn == [])
            #expect(try f.board.readyTasks().map(\.id) == [b])
            #expect(try f.board.tasks(TaskQuery(label: "x")).isEmpty)
            #expect(try f.board.history(of: a).map(\.action) == ["created", "claimed", "deleted"])
            #expect(try f.board.history(of: b).map(\.action) == ["created", "dependency-deleted"])
            // Nothing of a is left but its history.
            let keys = try allPairs(f.store).map { String(decoding: $0.key, as: UTF8.self) }
            #expect(keys.filter { $0.contains(a) && !$0.hasPrefix("ag/log/") } == [])
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }

    @Test func badInputIsRefusedBeforeAnythingIsWritten() throws {
        try withBoard { f in
            let id = try f.board.createTask(NewTask(title: "t"), by: "p").id
            let before = try allPairs(f.store)
            expectAgentError(.invalidArgument) { try f.board.createTask(NewTask(title: "  "), by: "p") }
            expectAgentError(.invalidArgument) {
                try f.board.createTask(NewTask(title: "two\nlines"), by: "p")
            }
            expectAgentError(.invalidArgument) {
                try f.board.createTask(NewTask(title: "t", priority: 5), by: "p")
            }
            expectAgentError(.invalidArgument) {
                try f.board.createTask(NewTask(title: "t", labels: ["a\u{0}b"]), by: "p")
            }
            expectAgentError(.invalidArgument) {
                try f.board.createTask(NewTask(title: "t", labels: [""]), by: "p")
            }
            expectAgentError(.invalidArgument) { try f.board.createTask(NewTask(title: "t"), by: "") }
            expectAgentError(.invalidArgument) {
                try f.board.createTask(NewTask(title: "t", dependsOn: ["T-1"]), by: "p")
            }
            expectAgentError(.notFound) {
                try f.board.createTask(
                    NewTask(title: "t", dependsOn: ["T-20251226-112725-00000000"]), by: "p")
            }
            expectAgentError(.invalidArgument) { try f.board.task("D-20251226-112725-6e0cec19") }
            expectAgentError(.invalidArgument) { try f.board.task("nonsense") }
            expectAgentError(.notFound) { try f.board.task("T-20251226-112725-00000000") }
            expectAgentError(.invalidArgument) {
                try f.board.updateTask(id, TaskUpdate(priority: -1), by: "p")
            }
            expectAgentError(.invalidArgument) { try f.board.updateTask(id, TaskUpdate(note: " "), by: "p") }
            expectAgentError(.invalidArgument) { try f.board.blockTask(id, reason: "", by: "p") }
            expectAgentError(.invalidArgument) { try f.board.tasks(TaskQuery(limit: -1)) }
            expectAgentError(.notFound) { try f.board.history(of: "T-20251226-112725-00000000") }
            #expect(try allPairs(f.store) == before)
            #expect(try Priority.parse("P1") == 1)
            #expect(try Priority.parse("critical") == 0)
            #expect(try Priority.parse("4") == 4)
            expectAgentError(.invalidArgument) { _ = try Priority.parse("5") }
            expectAgentError(.invalidArgument) { _ = try Priority.parse("urgent") }
            #expect(try TaskStatus.parse("in-progress") == .inProgress)
            expectAgentError(.invalidArgument) { _ = try TaskStatus.parse("closed") }
        }
    }

    @Test func recordsRoundTripAndDamageIsReported() throws {
        var task = TaskRecord(
            id: "T-20251226-112725-6e0cec19", title: "t ✓", description: "d", status: .blocked, priority: 4,
            labels: ["a", "b"], assignee: "w", dependsOn: ["T-20251226-112725-00000001"],
            notes: [TaskNote(at: Timestamp(milliseconds: 5), by: "x", text: "n")],
            createdAt: Timestamp(milliseconds: 1),
            createdBy: "p", updatedAt: Timestamp(milliseconds: 2), revision: 7)
        task.claimedAt = Timestamp(milliseconds: 3)
        task.leaseExpiresAt = Timestamp(milliseconds: 4)
        task.blockedReason = "why"
        task.blocker = "T-20251226-112725-00000001"
        task.retrospective = "r"
        task.closedAt = Timestamp(milliseconds: -6)
        let bytes = task.encoded()
        #expect(bytes[0] == 1 && bytes[1] == 1)
        #expect(try TaskRecord(id: task.id, decoding: bytes) == task)
        #expect(try TaskRecord.status(id: task.id, decoding: bytes) == .blocked)
        // An unknown field (a later version's) is skipped.
        var extended = bytes
        extended += [99 << 1, 0x05, 99 << 1 | 1, 0x02, 0x41, 0x42]
        #expect(try TaskRecord(id: task.id, decoding: extended) == task)
        // Truncations, a newer format version, the wrong record type: corrupted, never a crash.
        for cut in [0, 1, 5, bytes.count - 1] {
            expectAgentError(.corrupted) {
                _ = try TaskRecord(id: task.id, decoding: Array(bytes.prefix(cut)))
            }
        }
        expectAgentError(.corrupted) { _ = try TaskRecord(id: task.id, decoding: [2] + bytes.dropFirst()) }
        expectAgentError(.corrupted) { _ = try DecisionRecord(id: task.id, decoding: bytes) }

        let decision = DecisionRecord(
            id: "D-20251226-112725-6e0cec19", text: "x", rationale: "y", alternatives: ["p", "q"],
            affects: [task.id], createdAt: Timestamp(milliseconds: 9), createdBy: "a")
        #expect(try DecisionRecord(id: decision.id, decoding: decision.encoded()) == decision)
        var handoff = HandoffRecord(
            id: "H-20251226-112725-6e0cec19", from: "a", to: "b", task: task.id, instructions: "do",
            status: .rejected, createdAt: Timestamp(milliseconds: 9))
        handoff.result = "r"
        handoff.reason = "no"
        #expect(try HandoffRecord(id: handoff.id, decoding: handoff.encoded()) == handoff)
        let entry = HistoryEntry(
            recordID: task.id, revision: 3, at: Timestamp(milliseconds: 9), by: "a", action: "updated",
            changes: [
                FieldChange(field: "f", old: nil, new: "n"), FieldChange(field: "g", old: "o", new: nil),
            ])
        #expect(try HistoryEntry(recordID: task.id, revision: 3, decoding: entry.encoded()) == entry)
    }
}
