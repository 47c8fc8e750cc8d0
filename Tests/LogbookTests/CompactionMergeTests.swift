// Reads and writes while a compaction merges: the seal freezes the memtable and its tombstones
// under a new, empty memtable, so every read goes through three layers (new memtable, frozen
// memtable, snapshot) until the install puts the new snapshot in place of the frozen layer, or a
// failure folds the commits made meanwhile back on top of it. The compaction is held at the
// first disk call of its merge (the new snapshot's open) while the test works.

import Glibc
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CompactionMergeTests {
    /// Random puts, deletes, read-modify-write transactions, gets and scans over 120 keys, each
    /// read checked against `model`.
    static func churn(
        _ store: Store, _ model: inout ReferenceModel, _ random: inout SeededRandom, steps: Int,
        _ context: String
    ) throws {
        func key() -> [UInt8] { b("k" + String(Int.random(in: 100..<220, using: &random))) }
        for step in 0..<steps {
            let k = key()
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<3:
                let value = random.bytes(Int.random(in: 0...40, using: &random))
                try store.put(k, value)
                model.put(k, value)
            case 3..<5:
                #expect(try store.delete(k) == (model[k] != nil), "\(context), step \(step)")
                model.delete(k)
            case 5:
                // Not blind: prepared on a working copy of the view.
                let target = key()
                let written: [UInt8]? = try store.write { tx in
                    let value = try tx.get(k).map { $0 + [UInt8(step & 0xFF)] }
                    if let value { try tx.put(target, value) } else { try tx.delete(target) }
                    return value
                }
                model.apply(target, written)
            case 6..<8:
                #expect(try store.get(k) == model[k], "\(context), step \(step): get \(k)")
            default:
                let (x, y) = (key(), key())
                let (low, high) = keyLess(x, y) ? (x, y) : (y, x)
                let options = ScanOptions(
                    start: Bool.random(using: &random) ? low : nil,
                    end: Bool.random(using: &random) ? high : nil,
                    limit: Bool.random(using: &random) ? Int.random(in: 1...30, using: &random) : nil,
                    reverse: Bool.random(using: &random))
                #expect(try store.scan(options) == model.scan(options), "\(context), step \(step): \(options)")
            }
        }
    }

    /// Runs `store.compact()` on a thread of its own; `wait()` returns its outcome.
    final class BackgroundCompaction: Sendable {
        private let outcome = LockedCondition<Result<CompactionReport, LogbookError>?>(nil)

        init(_ store: Store) {
            let thread = System.startThread { [outcome] in
                let result: Result<CompactionReport, LogbookError>
                do { result = .success(try store.compact()) } catch let error as LogbookError {
                    result = .failure(error)
                } catch { result = .failure(LogbookError(.io, "\(error)")) }
                outcome.updateAndBroadcast { $0 = result }
            }
            precondition(thread != nil, "no thread")
            pthread_detach(thread!)
        }

        func wait() -> Result<CompactionReport, LogbookError> { outcome.wait { $0 } }
    }

    /// Whether the handle's view has a frozen layer (a compaction between seal and install).
    static func isFrozen(_ store: Store) -> Bool { store.state.withLock { $0.view.frozen != nil } }

    /// A store with a history in its memtable (puts, overwrites, deletes), over a snapshot
    /// with its own history when `snapshotBelow` (so that the frozen layer has tombstones).
    static func storeWithHistory(
        _ dir: TemporaryDirectory, _ layer: ProbeFileLayer, snapshotBelow: Bool, _ model: inout ReferenceModel,
        _ random: inout SeededRandom
    ) throws -> Store {
        let store = try Store(
            path: dir.store,
            options: relaxed {
                $0.autoCompactLogBytes = nil
                $0.fileLayer = layer
            })
        try churn(store, &model, &random, steps: 400, "before")
        if snapshotBelow {
            try store.compact()
            try churn(store, &model, &random, steps: 400, "after the first compaction")
        }
        return store
    }

    /// After a compaction: the store holds exactly `model`, goes on taking writes, compacts
    /// again, and a reopen holds the same and verifies.
    static func goOnAndReopen(
        _ store: Store, _ dir: TemporaryDirectory, _ model: inout ReferenceModel, _ random: inout SeededRandom,
        _ context: String
    ) throws {
        #expect(try store.scan() == model.all, "\(context)")
        try churn(store, &model, &random, steps: 300, context)
        try store.compact()
        #expect(try store.scan() == model.all, "\(context), after one more compaction")
        store.close()
        let reopened = try Store(path: dir.store)
        defer { reopened.close() }
        #expect(try reopened.scan() == model.all, "\(context), reopened")
        #expect(try reopened.verify().tornTail == nil)
    }

    /// A store with a history; its next compaction runs on a thread of its own, held at the
    /// first disk call of its merge while 800 random steps run, checked against `model`, then
    /// let go (`failing`: its new snapshot's rename fails). Returns the store, the new
    /// snapshot's number and how the compaction ended.
    static func churnDuringAHeldMerge(
        _ dir: TemporaryDirectory, snapshotBelow: Bool, failing: Bool, _ model: inout ReferenceModel,
        _ random: inout SeededRandom
    ) throws -> (store: Store, number: UInt64, outcome: Result<CompactionReport, LogbookError>) {
        let layer = ProbeFileLayer()
        let store = try storeWithHistory(dir, layer, snapshotBelow: snapshotBelow, &model, &random)
        let number: UInt64 = snapshotBelow ? 2 : 1
        let gate = layer.probe.hold(.open, of: SnapshotFormat.dataName(number) + ".tmp")
        if failing { layer.probe.fail(.rename, of: SnapshotFormat.dataName(number), errno: SystemError.eio) }
        let compaction = BackgroundCompaction(store)
        try #require(gate.waitForArrival(), "the compaction reached its merge")
        #expect(isFrozen(store))
        try churn(store, &model, &random, steps: 800, "during the merge")
        #expect(isFrozen(store), "the merge was still held")
        gate.open()
        return (store, number, compaction.wait())
    }

    /// While a compaction runs, another handle's `lockStatus()` says the compaction lock is held
    /// and by whom, and a compaction, backup or repair that waits for it gives up after the lock
    /// time-out naming that holder; once it is done, the lock is free and by no one, and they run.
    @Test func lockStatusAndTimeOutsNameTheCompactionsHolder() throws {
        try withTemporaryDirectory("holder") { dir in
            let layer = ProbeFileLayer()
            let options = StoreOptions(durability: .relaxed, programName: "the-compactor", autoCompactLogBytes: nil)
            let store = try Store(path: dir.store, options: options.with(layer))
            defer { store.close() }
            try store.put("a", "1")
            let gate = layer.probe.hold(.open, of: SnapshotFormat.dataName(1) + ".tmp")
            defer { gate.open() }
            let compaction = BackgroundCompaction(store)
            try #require(gate.waitForArrival(), "the compaction reached its merge")
            let other = try Store(path: dir.store, options: relaxed())
            defer { other.close() }
            let held = try other.lockStatus()
            #expect(held.compactionHeld)
            #expect(held.compactionHolder?.pid == getpid())
            #expect(held.compactionHolder?.program == "the-compactor")
            #expect(held.compactionHolder?.isAlive == true)
            #expect(held.writerHeld == false && held.syncTurnHeld == false)
            let impatient = relaxed { $0.lockTimeout = 0.2 }
            let waiting = try Store(path: dir.store, options: impatient)
            defer { waiting.close() }
            let copy = dir.path + "/copy"
            let attempts: [(String, () throws -> Void)] = [
                ("compact", { _ = try waiting.compact() }),
                ("backup", { _ = try waiting.backup(to: copy) }),
                ("repair", { _ = try Store.repair(path: dir.store, options: impatient) }),
            ]
            for (what, attempt) in attempts {
                let error = #expect(throws: LogbookError.self, "\(what)") { try attempt() }
                #expect(error?.code == .lockTimeout, "\(what)")
                #expect(
                    error?.message.hasPrefix(
                        "compaction lock on \(dir.store)/LOCK held by pid \(getpid()) (the-compactor) for ") == true,
                    "\(what): \(String(describing: error))")
                #expect(error?.message.contains("; gave up after 0.2 s") == true, "\(what)")
            }
            gate.open()
            _ = try compaction.wait().get()
            let free = try other.lockStatus()
            #expect(free.compactionHeld == false && free.compactionHolder == nil)
            #expect(try waiting.compact().snapshot == 2, "the lock once free, the waiting handle compacts")
            #expect(try waiting.backup(to: copy).sequence == 1)
        }
    }

    @Test(arguments: [false, true])
    func readsAndWritesDuringTheMergeSeeEveryLayer(snapshotBelow: Bool) throws {
        try withTemporaryDirectory("merge") { dir in
            var model = ReferenceModel()
            var random = SeededRandom(seed: snapshotBelow ? 71 : 72)
            let (store, number, outcome) = try Self.churnDuringAHeldMerge(
                dir, snapshotBelow: snapshotBelow, failing: false, &model, &random)
            #expect(try outcome.get().snapshot == number)
            #expect(!Self.isFrozen(store))
            try Self.goOnAndReopen(store, dir, &model, &random, "after the install")
        }
    }

    /// A merge that fails after commits went on above the frozen layer: those commits are
    /// folded back on top of it, reads and writes go on, and the next compaction holds them.
    @Test(arguments: [false, true])
    func aFailedMergeKeepsTheCommitsMadeDuringIt(snapshotBelow: Bool) throws {
        try withTemporaryDirectory("merge-fail") { dir in
            var model = ReferenceModel()
            var random = SeededRandom(seed: snapshotBelow ? 81 : 82)
            let (store, _, outcome) = try Self.churnDuringAHeldMerge(
                dir, snapshotBelow: snapshotBelow, failing: true, &model, &random)
            guard case .failure(let error) = outcome else {
                Issue.record("the compaction should have failed")
                return
            }
            #expect(error.code == .io)
            #expect(!Self.isFrozen(store))
            try Self.goOnAndReopen(store, dir, &model, &random, "after the failure")
        }
    }
}
