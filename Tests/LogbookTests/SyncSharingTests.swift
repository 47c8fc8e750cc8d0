// In `normal` and `paranoid` mode a writer releases the writer lock before it syncs: the next
// writer appends meanwhile and its sync covers both. Nothing is visible before a sync covers it.

import Glibc
@_spi(Testing) import Logbook
import Synchronization
import Testing

/// The real file layer, except that a log sync, once armed, waits until the test opens the gate.
private final class GatedSyncLayer: ForwardingFileLayer, Sendable {
    let base: any FileLayer = PosixFileLayer()
    private let state = Mutex((armed: false, inside: false, open: false))

    func arm() { state.withLock { $0.armed = true } }
    var isInside: Bool { state.withLock { $0.inside } }
    func open() { state.withLock { $0.open = true } }

    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        let gated = state.withLock { s in
            guard s.armed else { return false }
            s.armed = false
            s.inside = true
            return true
        }
        if gated {
            while !state.withLock({ $0.open }) { usleep(200) }
        }
        try base.sync(fd, dataOnly: dataOnly)
    }
}

@Suite("Syncs shared across writers")
struct SyncSharingTests {
    @Test(arguments: [Durability.normal, .paranoid])
    func aWriterAppendsWhileAnotherSyncsAndItsSyncCoversBoth(_ durability: Durability) throws {
        try withTemporaryDirectory("share") { dir in
            let gate = GatedSyncLayer()
            var options = StoreOptions(durability: durability, lockTimeout: 10)
            options.fileLayer = gate
            let slow = try Store(path: dir.store, options: options)
            let fast = try Store(path: dir.store, options: StoreOptions(durability: durability, lockTimeout: 10))
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
                try check(try fast.string("slow") == nil, "a record is visible before any sync covers it")
                // The lock is free: this commit neither waits for that sync nor times out.
                try fast.put("fast", "2")
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
            let published = try Self.pageWord(dir.store, 16)
            try writer.put("r2", "2")
            try writer.put("r3", "3")
            let end = try Self.pageWord(dir.store, 16)
            // A stale page: only r1 published, and an append claimed past the log's real end.
            try Self.setPageWord(dir.store, 16, published)
            try Self.setPageWord(dir.store, 24, end + 10)
            try Self.setPageWord(dir.store, 152, end + 10)
            try behind.put("r4", "4")
            #expect(try behind.verify().records == 4)
            for store in [writer, behind] { store.close() }
            let reopened = try Store(path: dir.store)
            #expect(try reopened.scan().map { String(decoding: $0.value, as: UTF8.self) } == ["1", "2", "3", "4"])
            reopened.close()
        }
    }

    private static func withPage<T>(_ store: String, _ body: (UnsafeMutableRawPointer) -> T) throws -> T {
        let fd = open(store + "/LOCK", O_RDWR)
        try #require(fd >= 0)
        defer { close(fd) }
        let page = try #require(mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
        try #require(page != MAP_FAILED)
        defer { munmap(page, 4096) }
        return body(page)
    }

    private static func pageWord(_ store: String, _ offset: Int) throws -> UInt64 {
        try withPage(store) { $0.load(fromByteOffset: offset, as: UInt64.self) }
    }

    private static func setPageWord(_ store: String, _ offset: Int, _ value: UInt64) throws {
        try withPage(store) { $0.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }
    }
}
