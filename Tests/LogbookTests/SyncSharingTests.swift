// In `normal` and `paranoid` mode a writer releases the writer lock before it syncs: the next
// writers append meanwhile, wait for the sync turn, and the next sync covers them all. Nothing is
// visible before a sync covers it (unless a `relaxed` handle publishes it), and nothing but a
// sync tells a writer its commit is durable (the page's durable end).

import CLogbookShims
import Glibc
import Testing

@_spi(Testing) @testable import Logbook

/// A file layer (the real one unless given) whose next log sync, once armed, waits until the
/// test opens the gate: before the sync reaches `base`, or after it did (`afterSync`).
private final class GatedSyncLayer: ForwardingFileLayer, Sendable {
    let base: any FileLayer
    private let afterSync: Bool
    private let state = Locked((armed: false, wrote: false, inside: false, open: false))

    init(base: any FileLayer = PosixFileLayer(), afterSync: Bool = false) {
        self.base = base
        self.afterSync = afterSync
    }

    /// Arms the gate for the next sync, or (`afterAWrite`) the next one after a write.
    func arm(afterAWrite: Bool = false) { state.withLock { ($0.armed, $0.wrote) = (true, !afterAWrite) } }
    var isInside: Bool { state.withLock { $0.inside } }
    func open() { state.withLock { $0.open = true } }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        state.withLock { $0.wrote = true }
        return try base.write(fd, from: buffer, at: offset)
    }

    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        let gated = state.withLock { s in
            guard s.armed && s.wrote else { return false }
            s.armed = false
            s.inside = true
            return true
        }
        if gated && afterSync { try base.sync(fd, dataOnly: dataOnly) }
        if gated {
            while !state.withLock({ $0.open }) { usleep(200) }
        }
        if !gated || !afterSync { try base.sync(fd, dataOnly: dataOnly) }
    }
}

/// A file layer whose syncs take 300 µs longer, as a disk's would: its flush, after the model
/// took what it makes durable (a write made meanwhile is not covered).
private final class SlowSyncLayer: ForwardingFileLayer, Sendable {
    let base: any FileLayer
    init(base: any FileLayer) { self.base = base }

    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        try base.sync(fd, dataOnly: dataOnly)
        usleep(300)
    }
}

/// Passes every call on, and records which LOCK descriptors tried the sync turn and did not
/// get it (they wait for it), and which got it.
private final class SyncTurnSpy: ForwardingFileLayer, Sendable {
    let base: any FileLayer
    private let state = Locked((refused: Set<Int32>(), taken: Set<Int32>()))

    init(base: any FileLayer = PosixFileLayer()) { self.base = base }

    var refused: Set<Int32> { state.withLock { $0.refused } }
    var taken: Set<Int32> { state.withLock { $0.taken } }

    func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool {
        let got = try base.tryLock(fd, byte: byte)
        if byte == ProcessLock.syncByte {
            state.withLock { s in _ = got ? s.taken.insert(fd) : s.refused.insert(fd) }
        }
        return got
    }
}

/// A store directory simulated by the power-loss model (every handle on it shares `model`), and
/// what a power cut leaves of it when only synced bytes survive.
private struct Modelled {
    let dir: TemporaryDirectory
    let model: PowerLossFileLayer
    let live: String
    var store: String { live + "/store" }

    /// Options for a handle on the model that goes through `layer` (the model, or a layer over
    /// it): no automatic compaction, and a writer that never gives up waiting for the sync turn.
    func options(_ durability: Durability = .normal, through layer: any FileLayer) -> StoreOptions {
        var options = StoreOptions(durability: durability, lockTimeout: 30, autoCompactLogBytes: nil)
        options.syncTurnPatience = 60
        return options.with(layer)
    }

    init(_ dir: TemporaryDirectory) {
        self.dir = dir
        live = dir.path + "/live"
        Disk.makeDirectory(live)
        model = PowerLossFileLayer(root: live)
    }

    /// Opens the state a power cut after `boundary` operations (all by default) leaves with only
    /// synced bytes; stops the model's recording.
    func survivor(after boundary: Int? = nil) throws -> Store {
        model.freeze()
        let image = model.disk(after: boundary ?? model.operationCount).disk.crashImage(
            root: live, policy: .syncedOnly, lockPage: nil)
        image.materialize(at: dir.path + "/cut")
        return try Store(path: dir.path + "/cut/store")
    }
}

/// The opening both mixed-mode tests share: on the model, a `normal` `holder` whose next sync is
/// held in its turn once made, a `normal` `writer` that then waits for the turn, and a `relaxed`
/// handle that commits while it waits. Each role runs on a thread of its own.
private struct MixedScene {
    let gate: GatedSyncLayer
    let spy: SyncTurnSpy
    let holder: Store
    let writer: Store
    let relaxed: Store

    init(_ modelled: Modelled) throws {
        gate = GatedSyncLayer(base: modelled.model, afterSync: true)
        spy = SyncTurnSpy(base: modelled.model)
        holder = try Store(path: modelled.store, options: modelled.options(through: gate))
        writer = try Store(path: modelled.store, options: modelled.options(through: spy))
        relaxed = try Store(path: modelled.store, options: modelled.options(.relaxed, through: modelled.model))
        gate.arm()
    }

    /// Commits `h`: synced, then held in its turn until the gate opens.
    func holdTheTurn() throws { try holder.put("h", "1") }

    /// Once the holder is held, commits `n`, which waits for the turn.
    func commitWaitingForTheTurn() throws {
        while !gate.isInside { usleep(200) }
        try writer.put("n", "2")
    }

    /// Once the writer waits for the turn, commits `r` with the relaxed handle: published at
    /// once, after the writer's record.
    func commitRelaxedMeanwhile() throws {
        try check(waitUntil { !spy.refused.isEmpty }, "the writer did not wait for the sync turn")
        try relaxed.put("r", "3")
    }

    func close() { for store in [holder, writer, relaxed] { store.close() } }
}

/// Polls `condition` every 200 µs for up to 20 s; whether it became true.
private func waitUntil(_ condition: () -> Bool) -> Bool {
    let deadline = System.monotonicNanoseconds() + 20_000_000_000
    while !condition() {
        if System.monotonicNanoseconds() >= deadline { return false }
        usleep(200)
    }
    return true
}

@Suite("Syncs shared across writers")
struct SyncSharingTests {
    /// A writer appends while another's sync is in flight. That sync stalls here (it holds the
    /// sync turn): after its patience the writer syncs alone, and its sync covers both records.
    @Test(arguments: [Durability.normal, .paranoid])
    func aWriterAppendsWhileAnotherSyncsAndItsSyncCoversBoth(_ durability: Durability) throws {
        try withTemporaryDirectory("share") { dir in
            let gate = GatedSyncLayer()
            var options = StoreOptions(durability: durability, lockTimeout: 10)
            options.fileLayer = gate
            let slow = try Store(path: dir.store, options: options)
            var patient = StoreOptions(durability: durability, lockTimeout: 10)
            patient.syncTurnPatience = 0.01
            let fast = try Store(path: dir.store, options: patient)
            let reader = try Store(path: dir.store, options: StoreOptions(durability: durability))
            try slow.put("before", "0")
            gate.arm()
            let errors = runOnThreads(2) { index in
                if index == 0 {
                    try slow.put("slow", "1")  // waits in its sync until the gate opens
                    return
                }
                defer { gate.open() }
                while !gate.isInside { usleep(200) }
                // The slow writer's record is written, not synced: nobody may see it yet.
                try check(try reader.string("slow") == nil, "a record is visible before any sync covers it")
                try check(try reader.lockStatus().syncTurnHeld, "the syncing writer does not hold the sync turn")
                try check(try fast.string("slow") == nil, "a record is visible before any sync covers it")
                // The writer lock is free: this commit appends at once, waits for the sync turn
                // for its patience, then syncs without it.
                try fast.put("fast", "2")
                try check(try fast.stats().syncs == 1, "the commit did not sync")
                // Its sync covered the slow writer's record too, so both are published.
                try check(try reader.string("fast") == "2", "an acknowledged commit is invisible")
                try check(try reader.string("slow") == "1", "the second sync did not publish the first record")
                // A put is a blind write: it was prepared without the slow writer's record,
                // which its handle applies with its own when the sync is done.
                try check(try fast.string("slow") == "1", "the writer's own view lacks the record it built on")
                try check(try fast.stats().keys == 3, "the writer's own view has the wrong keys")
                try check(gate.isInside, "the first sync finished early; the test proves nothing")
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try reader.lockStatus().syncTurnHeld == false, "the sync turn was not given back")
            #expect(try slow.string("fast") == "2")
            #expect(try slow.string("slow") == "1")
            let report = try reader.verify()
            #expect(report.records == 3)
            for store in [slow, fast, reader] { store.close() }
            let reopened = try Store(path: dir.store)
            #expect(try reopened.scan().count == 3)
            reopened.close()
        }
    }

    /// Syncs take turns across handles and processes: writers that append while a sync runs
    /// wait for the turn, and the next sync covers all of them. Run on the power-loss model, so
    /// that "covered" is checked against what the syncs made durable: the first sync finishes
    /// before the others append, so it must not claim their records (it covers only what was
    /// appended before it started), and the state after the last commit returned, with every
    /// unsynced write lost, holds every acknowledged commit.
    @Test(arguments: [Durability.normal, .paranoid])
    func writersWhoAppendDuringASyncShareTheNextOne(_ durability: Durability) throws {
        try withTemporaryDirectory("turns", inMemory: true) { dir in
            let modelled = Modelled(dir)
            let (model, store) = (modelled.model, modelled.store)
            let gate = GatedSyncLayer(base: model, afterSync: true)
            let spy = SyncTurnSpy(base: model)
            let first = try Store(path: store, options: modelled.options(durability, through: gate))
            let others = try (0..<2).map { _ in
                try Store(path: store, options: modelled.options(durability, through: spy))
            }
            try first.put("before", "0")
            gate.arm()
            let errors = runOnThreads(4) { index in
                switch index {
                case 0:
                    try first.put("a", "1")  // synced, then held in its turn until the gate opens
                case 1, 2:
                    while !gate.isInside { usleep(200) }
                    try others[index - 1].put(index == 1 ? "b" : "c", "\(index + 1)")
                default:
                    defer { gate.open() }
                    while !gate.isInside { usleep(200) }
                    try check(
                        waitUntil { spy.refused.count == 2 }, "the two writers did not both wait for the sync turn")
                    try check(spy.taken.isEmpty, "a writer took the turn while the first sync held it")
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            // Waiting, both appended: one sync covered the two of them.
            #expect(try first.stats().syncs == 2)
            #expect(try others.map { try $0.stats().syncs }.reduce(0, +) == 1, "each writer made a sync of its own")
            #expect(spy.taken.count == 1)
            let survivor = try modelled.survivor()
            let values = try survivor.scan().map { String(decoding: $0.value, as: UTF8.self) }
            #expect(values == ["1", "2", "0", "3"], "an acknowledged commit was not durable")
            survivor.close()
            for store in [first] + others { store.close() }
        }
    }

    /// A `relaxed` handle publishes its records unsynced, and with them the records before its
    /// own: that must not pass for a sync. A `normal` writer whose record a relaxed commit
    /// published while it waited for the sync turn still syncs it.
    @Test func aRelaxedCommitDoesNotStandInForASync() throws {
        try withTemporaryDirectory("mixed", inMemory: true) { dir in
            let modelled = Modelled(dir)
            let scene = try MixedScene(modelled)
            defer { scene.close() }
            let errors = runOnThreads(3) { index in
                switch index {
                case 0:
                    try scene.holdTheTurn()
                case 1:
                    try scene.commitWaitingForTheTurn()
                default:
                    defer { scene.gate.open() }
                    try scene.commitRelaxedMeanwhile()
                    try check(try scene.relaxed.string("n") == "2", "the relaxed commit did not build on the record")
                    usleep(5000)  // the waiting writer looks at the published end meanwhile
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try scene.writer.stats().syncs == 1, "the writer took a relaxed commit for a sync")
            let survivor = try modelled.survivor()
            #expect(try survivor.string("h") == "1")
            #expect(try survivor.string("n") == "2", "an acknowledged normal commit was not durable")
            survivor.close()
        }
    }

    /// A `normal` handle that reads the files (here: the page shows an append in flight) and
    /// finds records a `relaxed` commit published but no sync covered syncs them before it
    /// calls them durable: a waiting writer whose record is among them stops waiting then.
    @Test func aHandleThatReadsTheFilesSyncsWhatARelaxedCommitPublished() throws {
        try withTemporaryDirectory("slow", inMemory: true) { dir in
            let modelled = Modelled(dir)
            let (model, store) = (modelled.model, modelled.store)
            let readerGate = GatedSyncLayer(base: model)
            var impatient = modelled.options(through: readerGate)
            impatient.syncTurnPatience = 0  // syncs its own commit at once, without the turn
            let reader = try Store(path: store, options: impatient)
            defer { reader.close() }
            let scene = try MixedScene(modelled)
            defer { scene.close() }
            let acknowledged = Locked(0)
            let errors = runOnThreads(4) { index in
                switch index {
                case 0:
                    try scene.holdTheTurn()
                case 1:
                    try scene.commitWaitingForTheTurn()
                    acknowledged.withLock { $0 = model.operationCount }
                case 2:
                    try scene.commitRelaxedMeanwhile()
                    // The page now claims an append in flight: the next writer reads the files.
                    try LockPage.claimAnAppendInFlight(store)
                    readerGate.arm(afterAWrite: true)  // holds the sync of its own commit only
                    try reader.put("c", "4")
                default:
                    defer {
                        readerGate.open()
                        scene.gate.open()
                    }
                    // The writer returns once someone's sync covers its record: only the reader's
                    // first sync, made when it read the files, can (the others are held).
                    _ = waitUntil { acknowledged.withLock { $0 } != 0 }
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try reader.stats().syncs == 2, "the handle did not sync what it read")
            let survivor = try modelled.survivor(after: acknowledged.withLock { $0 })
            #expect(try survivor.string("n") == "2", "a normal commit was acknowledged before it was durable")
            survivor.close()
        }
    }

    /// Four handles commit at once on the power-loss model, each sync slowed down so that others
    /// append during it and turns are shared: after the last commit returned, the state with
    /// every unsynced write lost holds every acknowledged commit.
    @Test func concurrentWritersOnManyHandlesLoseNoAcknowledgedCommit() throws {
        try withTemporaryDirectory("turns", inMemory: true) { dir in
            let modelled = Modelled(dir)
            let (model, store) = (modelled.model, modelled.store)
            let slow = SlowSyncLayer(base: model)
            let stores = try (0..<4).map { _ in try Store(path: store, options: modelled.options(through: slow)) }
            let commits = 40
            let errors = runOnThreads(stores.count) { index in
                for i in 0..<commits { try stores[index].put("w\(index)/\(i)", "\(i)") }
            }
            #expect(errors.isEmpty, "\(errors)")
            let syncs = try stores.map { try $0.stats().syncs }.reduce(0, +)
            // (About half here: each sync covers the appends made while the one before it ran.)
            #expect(syncs < UInt64(stores.count * commits), "no sync was shared")
            let survivor = try modelled.survivor()
            #expect(try survivor.scan().count == stores.count * commits, "an acknowledged commit was not durable")
            survivor.close()
            for store in stores { store.close() }
        }
    }

    /// The durable end carries its segment: a sync of a sealed segment that raises it late,
    /// after a seal moved the page on, leaves the new segment's alone (one atomic step).
    @Test func theDurableEndBelongsToItsSegment() throws {
        var word = ProcessLock.durableWord(segment: 5, end: 100)
        lb_atomic_max_tagged_u64(&word, ProcessLock.durableWord(segment: 4, end: 1000), 44)
        #expect(word == ProcessLock.durableWord(segment: 5, end: 100), "another segment's end was taken")
        lb_atomic_max_tagged_u64(&word, ProcessLock.durableWord(segment: 5, end: 50), 44)
        #expect(word == ProcessLock.durableWord(segment: 5, end: 100), "the end went down")
        lb_atomic_max_tagged_u64(&word, ProcessLock.durableWord(segment: 5, end: 200), 44)
        #expect(word == ProcessLock.durableWord(segment: 5, end: 200))
        try withTemporaryDirectory("tagged") { dir in
            let store = try Store(path: dir.store)
            defer { store.close() }
            let lock = store.processLock
            let segment = lock.segment
            _ = lock.publish(segment: segment, end: 500, durable: true)
            #expect(lock.isDurable(segment: segment, end: 500) && !lock.isDurable(segment: segment, end: 501))
            _ = lock.publish(segment: segment, end: 600, durable: false)  // a relaxed commit
            #expect(lock.isDurable(segment: segment, end: 500) && !lock.isDurable(segment: segment, end: 600))
            _ = lock.publish(segment: segment + 1, end: 32, durable: true)  // a seal
            #expect(lock.durableEnd(segment: segment) == 0)
            lock.publishDurable(segment: segment, end: 700)  // a late sync of the sealed segment
            #expect(!lock.isDurable(segment: segment + 1, end: 33), "a sealed segment's sync covered the new one")
            #expect(!lock.isDurable(segment: segment, end: 1), "the page still says the old segment")
        }
    }

    /// While a writer syncs without the lock, another handle may compact and this handle's
    /// reads may reload the new generation: the segment being synced must stay open until the
    /// sync is done (it is closed by its last user), so the commit still succeeds.
    @Test func aCompactionAndAReloadDuringASyncDoNotCloseTheSegmentUnderIt() throws {
        try withTemporaryDirectory("reload") { dir in
            let gate = GatedSyncLayer()
            var options = StoreOptions(durability: .normal, lockTimeout: 10, autoCompactLogBytes: nil)
            options.fileLayer = gate
            let slow = try Store(path: dir.store, options: options)
            let other = try Store(
                path: dir.store, options: StoreOptions(durability: .normal, autoCompactLogBytes: nil))
            try slow.put("before", "0")
            gate.arm()
            let errors = runOnThreads(2) { index in
                if index == 0 {
                    try slow.put("slow", "1")  // waits in its sync until the gate opens
                    return
                }
                defer { gate.open() }
                while !gate.isInside { usleep(200) }
                _ = try other.compact()
                // This handle's read sees the new generation and reloads: a new active segment.
                try check(try slow.string("before") == "0", "the reload lost a committed key")
                try check(gate.isInside, "the sync finished early; the test proves nothing")
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try slow.string("slow") == "1")
            #expect(try other.string("slow") == "1")
            try slow.put("after", "2")  // the handle did not fail-stop
            for store in [slow, other] { store.close() }
            let reopened = try Store(path: dir.store)
            #expect(try reopened.scan().count == 3)
            reopened.close()
        }
    }

    /// The LOCK page is a hint: when it claims appended records the log does not hold as such,
    /// the next writer reads the files and appends after what is really there, overwriting nothing.
    @Test func aWriterTrustsTheLogNotAStalePage() throws {
        try withTemporaryDirectory("stale") { dir in
            let options = StoreOptions(durability: .normal)
            let writer = try Store(path: dir.store, options: options)
            try writer.put("r1", "1")
            let behind = try Store(path: dir.store, options: options)  // state ends after r1
            #expect(try behind.string("r1") == "1")
            let published = try LockPage.word(dir.store, LockPage.publishedEnd)
            try writer.put("r2", "2")
            try writer.put("r3", "3")
            let end = try LockPage.word(dir.store, LockPage.publishedEnd)
            // A stale page: only r1 published, and an append claimed past the log's real end.
            try LockPage.setWord(dir.store, LockPage.publishedEnd, published)
            try LockPage.setWord(dir.store, LockPage.pendingEnd, end + 10)
            try LockPage.setWord(dir.store, LockPage.appendedEnd, end + 10)
            try behind.put("r4", "4")
            #expect(try behind.verify().records == 4)
            for store in [writer, behind] { store.close() }
            let reopened = try Store(path: dir.store)
            #expect(try reopened.scan().map { String(decoding: $0.value, as: UTF8.self) } == ["1", "2", "3", "4"])
            reopened.close()
        }
    }
}
