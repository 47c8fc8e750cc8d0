import Testing

@testable import LogbookAgents

@Suite struct DecisionHandoffTests {
    @Test func decisionsAreLoggedAndFoundByTask() throws {
        try withBoard { f in
            let a = try f.board.createTask(NewTask(title: "a"), by: "p").id
            let b = try f.board.createTask(NewTask(title: "b"), by: "p").id
            let first = try f.board.logDecision(
                "Use SQLite-free storage", rationale: "no lock hangs", alternatives: ["SQLite", "files"],
                affects: [b, a, a],
                by: "architect")
            #expect(RecordID.isValid(first.id, kind: .decision))
            #expect(first.affects == [a, b].sorted())
            #expect(first.createdBy == "architect")
            f.clock.advance(seconds: 1)
            let second = try f.board.logDecision("Keep ids short", affects: [a], by: "architect")
            f.clock.advance(seconds: 1)
            let third = try f.board.logDecision("Unrelated", by: "x")
            #expect(try f.board.decision(first.id) == first)
            #expect(try f.board.why(a).map(\.id) == [first.id, second.id])
            #expect(try f.board.why(b).map(\.id) == [first.id])
            #expect(try f.board.decisions().map(\.id) == [first.id, second.id, third.id])
            #expect(try f.board.decisions(limit: 2).map(\.id) == [first.id, second.id])
            #expect(try f.board.decisions(affecting: b).map(\.id) == [first.id])
            #expect(try f.board.history(of: first.id).map(\.action) == ["logged"])
            // A deleted task keeps its decisions.
            try f.board.deleteTask(a, by: "p")
            #expect(try f.board.why(a).map(\.id) == [first.id, second.id])
            let before = try allPairs(f.store)
            expectAgentError(.notFound) { try f.board.why("T-20251226-112725-00000000") }
            expectAgentError(.notFound) {
                try f.board.logDecision("x", affects: ["T-20251226-112725-00000000"], by: "p")
            }
            expectAgentError(.invalidArgument) { try f.board.logDecision(" ", by: "p") }
            expectAgentError(.invalidArgument) { try f.board.decision(a) }
            expectAgentError(.notFound) { try f.board.decision("D-20251226-112725-00000000") }
            #expect(try allPairs(f.store) == before)
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }

    @Test func handoffLifecycle() throws {
        try withBoard { f in
            let task = try f.board.createTask(NewTask(title: "t"), by: "p").id
            try f.board.claimTask(task, agent: "alice")
            let handoff = try f.board.initiateHandoff(
                from: "alice", to: "bob", task: task, instructions: "finish it")
            #expect(handoff.status == .initiated)
            #expect(RecordID.isValid(handoff.id, kind: .handoff))
            #expect(try f.board.handoffs(HandoffQuery(to: "bob")).map(\.id) == [handoff.id])
            #expect(try f.board.handoffs(HandoffQuery(task: task)).map(\.id) == [handoff.id])
            // Only the receiver acts on it.
            expectAgentError(.conflict) { try f.board.acceptHandoff(handoff.id, agent: "carol") }
            expectAgentError(.conflict) { try f.board.completeHandoff(handoff.id, result: "x", agent: "bob") }
            f.clock.advance(seconds: 3)
            let accepted = try f.board.acceptHandoff(handoff.id, agent: "bob")
            #expect(accepted.status == .accepted)
            #expect(accepted.revision == 2)
            #expect(accepted.updatedAt == f.clock.now)
            // The task moved to the receiver, with a fresh lease.
            let moved = try f.board.task(task)
            #expect(moved.assignee == "bob")
            #expect(moved.leaseExpiresAt == f.clock.now.adding(seconds: 60))
            #expect(try f.board.history(of: task).last?.action == "handed-off")
            let completed = try f.board.completeHandoff(handoff.id, result: "merged")
            #expect(completed.status == .completed)
            #expect(completed.result == "merged")
            expectAgentError(.conflict) {
                try f.board.rejectHandoff(handoff.id, reason: "late", agent: "bob")
            }
            #expect(
                try f.board.history(of: handoff.id).map(\.action) == ["initiated", "accepted", "completed"])
            #expect(try f.board.handoffs(HandoffQuery(status: .completed)).map(\.id) == [handoff.id])
            #expect(try f.board.handoffs(HandoffQuery(status: .initiated)).isEmpty)

            let second = try f.board.initiateHandoff(from: "bob", to: "carol", instructions: "review")
            let rejected = try f.board.rejectHandoff(second.id, reason: "busy", agent: "carol")
            #expect(rejected.status == .rejected)
            #expect(rejected.reason == "busy")
            #expect(try f.board.handoffs().map(\.id) == [handoff.id, second.id])
            #expect(try f.board.handoffs(HandoffQuery(from: "bob")).map(\.id) == [second.id])
            #expect(try f.board.handoffs(HandoffQuery(limit: 1)).map(\.id) == [handoff.id])

            let before = try allPairs(f.store)
            expectAgentError(.invalidArgument) {
                try f.board.initiateHandoff(from: "a", to: "a", instructions: "x")
            }
            expectAgentError(.invalidArgument) {
                try f.board.initiateHandoff(from: "a", to: "b", instructions: "")
            }
            expectAgentError(.notFound) {
                try f.board.initiateHandoff(
                    from: "a", to: "b", task: "T-20251226-112725-00000000", instructions: "x")
            }
            expectAgentError(.notFound) { try f.board.acceptHandoff("H-20251226-112725-00000000") }
            #expect(try allPairs(f.store) == before)
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }
}
