import Dispatch
@_spi(Testing) import Logbook
import Testing

@testable import LogbookAgents

@Suite struct ClaimTests {
    @Test func claimNextTakesTheMostUrgentThenOldest() throws {
        try withBoard { f in
            let low = try f.board.createTask(NewTask(title: "low", priority: 3), by: "p").id
            f.clock.advance(seconds: 1)
            let urgentOld = try f.board.createTask(NewTask(title: "urgent old", priority: 0), by: "p").id
            f.clock.advance(seconds: 1)
            let urgentNew = try f.board.createTask(NewTask(title: "urgent new", priority: 0), by: "p").id
            let first = try f.board.claimNextTask(agent: "a1")
            #expect(first?.id == urgentOld)
            #expect(first?.status == .inProgress)
            #expect(first?.assignee == "a1")
            #expect(first?.claimedAt == f.clock.now)
            #expect(first?.leaseExpiresAt == f.clock.now.adding(seconds: 60))
            #expect(try f.board.claimNextTask(agent: "a2", leaseSeconds: 5)?.id == urgentNew)
            #expect(try f.board.task(urgentNew).leaseExpiresAt == f.clock.now.adding(seconds: 5))
            #expect(try f.board.claimNextTask(agent: "a3")?.id == low)
            #expect(try f.board.claimNextTask(agent: "a4") == nil)
            #expect(try f.board.tasks(TaskQuery(assignee: "a2")).map(\.id) == [urgentNew])
            #expect(try f.board.history(of: low).map(\.action) == ["created", "claimed"])
        }
    }

    @Test func claimByIDIsLostToTheHolderAndRenewsForIt() throws {
        try withBoard { f in
            let id = try f.board.createTask(NewTask(title: "t"), by: "p").id
            try f.board.claimTask(id, agent: "a1")
            let before = try allPairs(f.store)
            let message = expectAgentError(.conflict) { try f.board.claimTask(id, agent: "a2") }
            #expect(message.hasPrefix("claim lost: task \(id) is held by a1 (lease until "))
            expectAgentError(.conflict) { try f.board.completeTask(id, by: "a2") }
            expectAgentError(.conflict) { try f.board.releaseTask(id, by: "a2") }
            #expect(try allPairs(f.store) == before)
            // The holder claiming again renews its lease and keeps the claim time.
            let claimedAt = try f.board.task(id).claimedAt
            f.clock.advance(seconds: 30)
            let renewed = try f.board.claimTask(id, agent: "a1", leaseSeconds: 100)
            #expect(renewed.leaseExpiresAt == f.clock.now.adding(seconds: 100))
            #expect(renewed.claimedAt == claimedAt)
            #expect(try f.board.history(of: id).last?.action == "renewed")
            // Without enforcement (a person at the CLI), anyone may complete it.
            #expect(try f.board.completeTask(id, by: "lead", enforceClaim: false).status == .done)
            #expect(try f.board.task(id).assignee == "a1")
            expectAgentError(.conflict) { try f.board.claimTask(id, agent: "a1") }
        }
    }

    @Test func claimingATaskThatIsNotReadyFails() throws {
        try withBoard { f in
            let dependency = try f.board.createTask(NewTask(title: "first"), by: "p").id
            let waiting = try f.board.createTask(NewTask(title: "second", dependsOn: [dependency]), by: "p")
                .id
            let blocked = try f.board.createTask(NewTask(title: "blocked"), by: "p").id
            try f.board.blockTask(blocked, reason: "r", by: "p")
            let assigned = try f.board.createTask(NewTask(title: "assigned", assignee: "someone"), by: "p").id
            expectAgentError(.conflict) { try f.board.claimTask(waiting, agent: "a") }
            expectAgentError(.conflict) { try f.board.claimTask(blocked, agent: "a") }
            expectAgentError(.conflict) { try f.board.claimTask(assigned, agent: "a") }
            expectAgentError(.notFound) { try f.board.claimTask("T-20251226-112725-00000000", agent: "a") }
            expectAgentError(.invalidArgument) { try f.board.claimTask(dependency, agent: "") }
            expectAgentError(.invalidArgument) {
                try f.board.claimTask(dependency, agent: "a", leaseSeconds: 0)
            }
            // Assigned to an agent and waiting: not even that agent may claim it yet.
            let assignedWaiting = try f.board.createTask(
                NewTask(title: "assigned, waiting", dependsOn: [dependency], assignee: "someone"), by: "p"
            ).id
            expectAgentError(.conflict) { try f.board.claimTask(assignedWaiting, agent: "someone") }
            // The assignee itself may claim it (with a lease).
            #expect(try f.board.claimTask(assigned, agent: "someone").status == .inProgress)
            #expect(try f.board.readyTasks().map(\.id) == [dependency])
        }
    }

    @Test func aLapsedLeaseMakesTheTaskClaimableAgain() throws {
        try withBoard { f in
            let id = try f.board.createTask(NewTask(title: "t"), by: "p").id
            try f.board.claimTask(id, agent: "dead", leaseSeconds: 10)
            #expect(try f.board.claimNextTask(agent: "a2") == nil)
            #expect(try f.board.readyTasks().isEmpty)
            f.clock.advance(seconds: 10)
            // Listed as ready again (still recorded as the dead agent's) ...
            let ready = try f.board.readyTasks()
            #expect(ready.map(\.id) == [id])
            #expect(ready.first?.assignee == "dead")
            // ... and the next claim takes it over.
            let taken = try f.board.claimNextTask(agent: "a2")
            #expect(taken?.id == id)
            #expect(taken?.assignee == "a2")
            #expect(taken?.leaseExpiresAt == f.clock.now.adding(seconds: 60))
            #expect(
                try f.board.history(of: id).map(\.action) == [
                    "created", "claimed", "lease-expired", "claimed",
                ])
            #expect(try f.board.history(of: id)[2].by == "a2")
            // The dead agent, back, has lost its claim.
            expectAgentError(.conflict) { try f.board.completeTask(id, by: "dead") }
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }

    @Test func claimByIDTakesOverALapsedClaimAndReleaseGivesItBack() throws {
        try withBoard { f in
            let id = try f.board.createTask(NewTask(title: "t"), by: "p").id
            try f.board.claimTask(id, agent: "a1", leaseSeconds: 1)
            f.clock.advance(seconds: 2)
            #expect(try f.board.claimTask(id, agent: "a2").assignee == "a2")
            let released = try f.board.releaseTask(id, by: "a2")
            #expect(released.status == .open)
            #expect(released.assignee == nil)
            #expect(released.leaseExpiresAt == nil)
            #expect(try f.board.readyTasks().map(\.id) == [id])
            expectAgentError(.conflict) { try f.board.releaseTask(id, by: "a2") }
            // Starting a task whose holder's lease lapsed takes it over (without a lease).
            try f.board.claimTask(id, agent: "a4", leaseSeconds: 1)
            f.clock.advance(seconds: 1)
            let started = try f.board.startTask(id, by: "a5")
            #expect(started.assignee == "a5")
            #expect(started.leaseExpiresAt == nil)
            try f.board.releaseTask(id, by: "a5")
            // Expiring by hand.
            try f.board.claimTask(id, agent: "a3", leaseSeconds: 1)
            #expect(try f.board.expireLapsedLeases(by: "janitor") == 0)
            f.clock.advance(seconds: 1)
            #expect(try f.board.expireLapsedLeases(by: "janitor") == 1)
            #expect(try f.board.task(id).assignee == nil)
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }

    /// 8 threads claim from 100 ready tasks until nothing is left: every task exactly once.
    @Test func threadsNeverClaimTheSameTask() throws {
        try withBoard { f in
            for i in 0..<100 { try f.board.createTask(NewTask(title: "t\(i)", priority: i % 5), by: "p") }
            let lock = TestLock()
            nonisolated(unsafe) var claims: [String: String] = [:]
            nonisolated(unsafe) var duplicates = 0
            nonisolated(unsafe) var failures: [String] = []
            let board = f.board
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                while true {
                    do {
                        guard let task = try board.claimNextTask(agent: "a\(worker)") else { return }
                        lock.locked {
                            if claims[task.id] != nil { duplicates += 1 }
                            claims[task.id] = "a\(worker)"
                        }
                    } catch {
                        lock.locked { failures.append("\(error)") }
                        return
                    }
                }
            }
            #expect(failures == [])
            #expect(duplicates == 0)
            #expect(claims.count == 100)
            for (id, agent) in claims { #expect(try f.board.task(id).assignee == agent) }
            #expect(try f.board.tasks(TaskQuery(status: .inProgress)).count == 100)
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }

    /// An agent host's threads creating and claiming tasks through one store handle while it
    /// compacts itself: nothing fails, nothing is lost, the store reopens consistent. (Before
    /// the fix, two threads of one handle could compact at once and one deleted the snapshot
    /// the other installed, leaving a store that no longer opened.)
    @Test func threadsWorkThroughAutomaticCompaction() throws {
        try withBoard(autoCompactLogBytes: 32 << 10) { f in
            let board = f.board
            let lock = TestLock()
            nonisolated(unsafe) var failures: [String] = []
            nonisolated(unsafe) var created = 0
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                for k in 0..<300 {
                    do {
                        try board.createTask(
                            NewTask(title: "w\(worker)-\(k)", labels: ["w\(worker)"]), by: "w\(worker)")
                        lock.locked { created += 1 }
                        if k % 3 == 0 { _ = try board.claimNextTask(agent: "w\(worker)") }
                    } catch {
                        lock.locked { failures.append("\(error)") }
                    }
                }
            }
            #expect(failures == [])
            #expect(created == 1200)
            #expect(try f.board.tasks().count == 1200)
            #expect(try f.board.tasks(TaskQuery(status: .inProgress)).count == 400)
            #expect(try f.board.verifyIndexes().problems == [])
            let files = try PosixFileLayer().listDirectory(f.path)
            #expect(files.contains { $0.hasPrefix("snapshot-") }, "it compacted: \(files)")
            let reopened = try Store(path: f.path, options: StoreOptions(durability: .relaxed))
            defer { reopened.close() }
            #expect(try AgentBoard(backend: reopened).tasks().count == 1200)
        }
    }

    /// 4 threads each add 25 labels and 25 notes to one task: no update is lost.
    @Test func concurrentUpdatesLoseNothing() throws {
        try withBoard { f in
            let id = try f.board.createTask(NewTask(title: "shared"), by: "p").id
            let board = f.board
            let lock = TestLock()
            nonisolated(unsafe) var failures: [String] = []
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                for k in 0..<25 {
                    do {
                        try board.updateTask(
                            id, TaskUpdate(addLabels: ["w\(worker)-\(k)"], note: "n\(worker)-\(k)"),
                            by: "w\(worker)")
                    } catch {
                        lock.locked { failures.append("\(error)") }
                    }
                }
            }
            #expect(failures == [])
            let task = try f.board.task(id)
            #expect(task.labels.count == 100)
            #expect(Set(task.labels) == Set((0..<4).flatMap { w in (0..<25).map { "w\(w)-\($0)" } }))
            #expect(
                Set(task.notes.map(\.text)) == Set((0..<4).flatMap { w in (0..<25).map { "n\(w)-\($0)" } }))
            #expect(task.revision == 101)
            #expect(try f.board.history(of: id).map(\.revision) == Array(1...101))
            #expect(try f.board.verifyIndexes().isConsistent)
        }
    }
}
