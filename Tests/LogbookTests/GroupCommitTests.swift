import Synchronization
import Testing

@_spi(Testing) @testable import Logbook

/// The real file layer with syncs slowed to 2 ms, as on a slow disk: while one batch syncs, the
/// other threads' commits pile up behind it.
private struct SlowSyncLayer: ForwardingFileLayer {
    let real = PosixFileLayer()
    var base: any FileLayer { real }
    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        System.sleep(nanoseconds: 2_000_000)
        try real.sync(fd, dataOnly: dataOnly)
    }
}

/// Group commit: concurrent committers of one handle are batched into one write and one sync,
/// and each still gets its own result (a conflict fails only its own transaction).
/// A `normal` store in `dir` with 2 ms syncs, after `threads` threads put `each` keys apiece.
private func slowSyncStoreAfterPuts(_ dir: TemporaryDirectory, threads: Int, each: Int) throws -> Store {
    var options = StoreOptions(durability: .normal)
    options.fileLayer = SlowSyncLayer()
    let store = try Store(path: dir.path, options: options)
    // Real threads: Dispatch would run only as many at once as there are cores.
    #expect(runOnThreads(threads) { t in for i in 0..<each { try store.put("k\(t)-\(i)", "v") } }.isEmpty)
    return store
}

@Test func groupCommitBatchesThreads() throws {
    try withTemporaryDirectory("gc") { dir in try groupCommitBatchesThreads(dir) }
}

private func groupCommitBatchesThreads(_ dir: TemporaryDirectory) throws {
    let store = try slowSyncStoreAfterPuts(dir, threads: 8, each: 50)
    let st = try store.stats()
    #expect(st.commits == 400)
    // While a batch's 2 ms sync runs, the other seven threads queue: one sync covers many commits.
    #expect(st.syncs <= st.commits / 2, "\(st.syncs) syncs for \(st.commits) commits")
    #expect(st.keys == 400)
    let errors = runOnThreads(8) { _ in
        for _ in 0..<25 {
            try store.write { tx in
                let n = Int(try tx.string("c") ?? "0")!
                try tx.put("c", String(n + 1))
            }
        }
    }
    #expect(errors.isEmpty, "\(errors)")
    #expect(try store.string("c") == "200")
    store.close()
    let again = try Store(path: dir.path)
    #expect(try again.string("c") == "200")
    #expect(try again.stats().keys == 401)
}

/// Holds the first log write after `armed` is set until `open` is set, and counts log writes.
private final class GatedWriteLayer: ForwardingFileLayer, @unchecked Sendable {
    let real = PosixFileLayer()
    var base: any FileLayer { real }
    let armed = Atomic<Bool>(false)
    let entered = Atomic<Bool>(false)
    let open = Atomic<Bool>(false)
    let logWrites = Atomic<Int>(0)
    private let logFds = Locked<Set<Int32>>([])

    func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 {
        let fd = try real.open(path, mode)
        if path.hasSuffix(".wal") { logFds.withLock { _ = $0.insert(fd) } }
        return fd
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        if logFds.withLock({ $0.contains(fd) }) {
            logWrites.add(1, ordering: .sequentiallyConsistent)
            if armed.exchange(false, ordering: .sequentiallyConsistent) {
                entered.store(true, ordering: .sequentiallyConsistent)
                while !open.load(ordering: .sequentiallyConsistent) { System.sleep(nanoseconds: 100_000) }
            }
        }
        return try real.write(fd, from: buffer, at: offset)
    }
}

/// The requests that queue while a thread commits alone (no queue, no request) go into one
/// batch after its own (led by it in `relaxed` mode, by one of them in `normal` mode), and every
/// caller gets its result.
@Test(arguments: [Durability.relaxed, .normal])
func requestsQueuedBehindALoneCommitGoInOneBatch(durability: Durability) throws {
    try withTemporaryDirectory("solo") { dir in try requestsQueuedBehindALoneCommit(durability, dir) }
}

private func requestsQueuedBehindALoneCommit(_ durability: Durability, _ dir: TemporaryDirectory) throws {
    let layer = GatedWriteLayer()
    var options = StoreOptions(durability: durability)
    options.fileLayer = layer
    options.autoCompactLogBytes = nil
    let store = try Store(path: dir.path, options: options)
    try store.put("warm", "up")
    let writesBefore = layer.logWrites.load(ordering: .sequentiallyConsistent)
    layer.armed.store(true, ordering: .sequentiallyConsistent)
    let errors = runOnThreads(4) { t in
        if t == 0 {
            try store.put("alone", "first")
            return
        }
        while !layer.entered.load(ordering: .sequentiallyConsistent) { System.sleep(nanoseconds: 100_000) }
        if t == 1 {
            // The two others queue behind the thread held in its write; then let it go.
            while store.commitQueue.withLock({ $0.waiting.count }) < 2 { System.sleep(nanoseconds: 100_000) }
            layer.open.store(true, ordering: .sequentiallyConsistent)
            return
        }
        try store.put("queued-\(t)", "v\(t)")
    }
    #expect(errors.isEmpty, "\(errors)")
    let opened = layer.open.load(ordering: .sequentiallyConsistent)
    #expect(opened)
    let writes = layer.logWrites.load(ordering: .sequentiallyConsistent) - writesBefore
    // One write for the lone commit, one for the batch of the two queued behind it.
    #expect(writes == 2)
    #expect(try store.string("alone") == "first")
    #expect(try store.string("queued-2") == "v2")
    #expect(try store.string("queued-3") == "v3")
    #expect(try store.stats().commits == 4)
    #expect(store.commitQueue.withLock { !$0.leaderActive && $0.waiting.isEmpty })
    store.close()
    let again = try Store(path: dir.path)
    #expect(try again.stats().keys == 4)
}

/// Two threads committing in a loop in `normal` mode share syncs: the next leader waits (at most
/// half a sync) for the thread whose commit was just acknowledged to come back, instead of the
/// two taking turns with a sync each (about 150 syncs here without the wait, 101 with it).
@Test func threadsCommittingInALoopShareSyncs() throws {
    try withTemporaryDirectory("gather") { dir in
        let store = try slowSyncStoreAfterPuts(dir, threads: 2, each: 100)
        let st = try store.stats()
        #expect(st.commits == 200)
        #expect(st.syncs <= 130, "\(st.syncs) syncs for \(st.commits) commits")
        #expect(st.keys == 200)
        store.close()
    }
}

/// A batch of blind puts (no working copy of the map: their records are applied at install)
/// leaves the live state exactly as replaying the log does: the same key put by every thread,
/// often twice in one batch, ends with the value of the last record, here and after reopening.
@Test func blindBatchesApplyTheirRecordsInLogOrder() throws {
    try withTemporaryDirectory("blind") { dir in
        var options = StoreOptions(durability: .normal)
        options.fileLayer = SlowSyncLayer()
        let store = try Store(path: dir.path, options: options)
        let errors = runOnThreads(8) { t in
            for i in 0..<40 {
                try store.put("shared", "\(t)-\(i)")
                try store.put("own-\(t)", "\(i)")
            }
        }
        #expect(errors.isEmpty, "\(errors)")
        let st = try store.stats()
        #expect(st.commits == 640)
        #expect(st.syncs <= st.commits / 2, "batches formed: \(st.syncs) syncs for \(st.commits) commits")
        let live = try store.scan()
        #expect(live.count == 9)
        for t in 0..<8 { #expect(try store.string("own-\(t)") == "39") }
        store.close()
        let again = try Store(path: dir.path)
        #expect(try again.scan() == live)
        again.close()
    }
}
