// I/O faults injected through the file layer: a failed sync or a failed log write makes the
// handle fail-stop (reads go on, writes are refused, a reopen recovers every acknowledged
// commit and nothing else); ENOSPC with a clean cut is an ordinary error; short writes are
// completed by the engine.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct FaultInjectionTests {
    static let log = "log-1.wal"

    /// Opens a store through a fresh probe layer and commits a=1, b=2.
    static func openWithTwoCommits(_ dir: TemporaryDirectory, _ durability: Durability = .normal) throws
        -> (Store, ProbeFileLayer)
    {
        let layer = ProbeFileLayer()
        let store = try Store(path: dir.store, options: StoreOptions(durability: durability).with(layer))
        try store.put("a", "1")
        try store.put("b", "2")
        return (store, layer)
    }

    static let acknowledged = [KeyValue(key: b("a"), value: b("1")), KeyValue(key: b("b"), value: b("2"))]

    /// Every kind of write is refused with `storeFailed`; reads still answer from the map.
    func expectFailStopped(_ store: Store, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let attempts: [(String, () throws -> Void)] = [
            ("put", { try store.put("d", "4") }),
            ("delete", { _ = try store.delete("a") }),
            ("cas", { _ = try store.compareAndSwap(b("a"), expected: b("1"), new: b("9")) }),
            ("write", { try store.write { tx in try tx.put("e", "5") } }),
        ]
        for (name, attempt) in attempts {
            let error = #expect(throws: LogbookError.self, "\(name)", sourceLocation: sourceLocation) { try attempt() }
            #expect(error?.code == .storeFailed, "\(name)", sourceLocation: sourceLocation)
            #expect(error?.exitCode == 6, sourceLocation: sourceLocation)
        }
        #expect(try store.get("a") == b("1"), sourceLocation: sourceLocation)
        #expect(try store.scan() == Self.acknowledged, sourceLocation: sourceLocation)
        #expect(try store.read { try $0.count } == 2, sourceLocation: sourceLocation)
    }

    /// A fresh handle with the real file layer sees exactly the acknowledged commits.
    func expectRecovered(
        _ dir: TemporaryDirectory, extra: [KeyValue] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let reopened = try Store(path: dir.store, options: relaxed())
        defer { reopened.close() }
        #expect(try reopened.scan() == Self.acknowledged + extra, sourceLocation: sourceLocation)
        #expect(try reopened.verify().records == 2 + extra.count, sourceLocation: sourceLocation)
        try reopened.put("later", "ok")
        #expect(try reopened.string("later") == "ok", sourceLocation: sourceLocation)
    }

    @Test(arguments: [Durability.normal, .paranoid])
    func aFailedSyncFailsTheCommitAndStopsTheHandle(_ durability: Durability) throws {
        try withTemporaryDirectory("syncfail") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir, durability)
            let other = try Store(path: dir.store, options: StoreOptions(durability: durability))
            layer.probe.fail(.sync, of: Self.log, errno: SystemError.eio)

            let error = #expect(throws: LogbookError.self) { try store.put("c", "3") }
            #expect(error?.code == .storeFailed)
            #expect(error?.errno == SystemError.eio)
            #expect(error?.path == dir.log)
            #expect(try store.get("c") == nil, "a commit whose sync failed is not acknowledged, nor visible")
            // Fail-stop: no retry of the sync, no further writes, even though the fault is spent.
            try expectFailStopped(store)
            #expect(layer.probe.syncs(of: Self.log).count == 3)
            #expect(try other.scan() == Self.acknowledged, "other handles never see the failed commit")
            store.close()
            other.close()
            try expectRecovered(dir)
        }
    }

    @Test func anotherHandleKeepsWritingAfterOneHandleFailStops() throws {
        try withTemporaryDirectory("otherhandle") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            let other = try Store(path: dir.store)
            layer.probe.fail(.sync, of: Self.log, errno: SystemError.eio)
            #expect(throws: LogbookError.self) { try store.put("c", "3") }
            try other.put("e", "5")
            #expect(try other.scan() == Self.acknowledged + [KeyValue(key: b("e"), value: b("5"))])
            #expect(try store.get("e") == b("5"), "a failed handle still reads others' commits")
            store.close()
            other.close()
            try expectRecovered(dir, extra: [KeyValue(key: b("e"), value: b("5"))])
        }
    }

    /// A `normal` handle that reads the files (the page claims an append in flight, as a writer
    /// killed mid-append leaves it) and finds records no sync covered, here a `relaxed` commit's,
    /// syncs them before it builds on them. When that sync fails, it fail-stops: its own commit
    /// is refused, not appended, and the fault costs no commit of the others.
    @Test func aFailedSyncOfRecordsFoundUnsyncedFailsStop() throws {
        try withTemporaryDirectory("syncfound") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            let loose = try Store(path: dir.store, options: relaxed())
            try loose.put("r", "3")
            loose.close()
            try LockPage.claimAnAppendInFlight(dir.store)
            let logBefore = Disk.contentEnd(dir.log)
            layer.probe.fail(.sync, of: Self.log, errno: SystemError.eio)

            let error = #expect(throws: LogbookError.self) { try store.put("c", "4") }
            #expect(error?.code == .storeFailed)
            #expect(error?.errno == SystemError.eio)
            #expect(error?.path?.hasSuffix(Self.log) == true, "the probe names the file it failed")
            #expect(error?.message.hasPrefix("could not sync the log") == true, "\(String(describing: error))")
            #expect(layer.probe.syncs(of: Self.log).count == 3, "its two commits, then the failed sync")
            #expect(Disk.contentEnd(dir.log) == logBefore, "nothing appended after the failed sync")
            #expect(try store.get("c") == nil)
            let refused = #expect(throws: LogbookError.self) { try store.put("d", "5") }
            #expect(refused?.code == .storeFailed, "fail-stop: the next write is refused too")
            #expect(layer.probe.syncs(of: Self.log).count == 3, "and the failed sync is not retried")
            #expect(try store.string("a") == "1", "reads go on")
            store.close()
            try expectRecovered(dir, extra: [KeyValue(key: b("r"), value: b("3"))])
        }
    }

    @Test func eioOnTheLogWriteFailsStop() throws {
        try withTemporaryDirectory("eio") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            let endBefore = Disk.contentEnd(dir.log)
            layer.probe.fail(.write, of: Self.log, errno: SystemError.eio)
            let error = #expect(throws: LogbookError.self) { try store.put("c", "3") }
            #expect(error?.code == .storeFailed)
            #expect(error?.errno == SystemError.eio)
            #expect(Disk.contentEnd(dir.log) == endBefore)
            try expectFailStopped(store)
            store.close()
            try expectRecovered(dir)
        }
    }

    /// Part of the record reaches the file, then EIO, and cutting it off fails too: the handle
    /// stops, and the remains are a torn tail the next open ignores.
    @Test func eioAfterAPartialWriteWithAFailingTruncateLeavesOnlyATornTail() throws {
        try withTemporaryDirectory("eiotorn") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            let endBefore = Disk.contentEnd(dir.log)
            layer.probe.limitWrites(to: 10)
            layer.probe.fail(.write, of: Self.log, errno: SystemError.eio, skip: 1)
            layer.probe.fail(.truncate, of: Self.log, errno: SystemError.eio)
            let error = #expect(throws: LogbookError.self) { try store.put("c", String(repeating: "3", count: 40)) }
            #expect(error?.code == .storeFailed)
            #expect(Disk.contentEnd(dir.log) == endBefore + 10, "the partial record is still there")
            try expectFailStopped(store)
            store.close()
            let reopened = try Store(path: dir.store, options: relaxed())
            #expect(try reopened.scan() == Self.acknowledged)
            #expect(try reopened.verify().tornTail?.offset == UInt64(endBefore))
            reopened.close()
            try expectRecovered(dir)  // its put cut the tail off
            #expect(Disk.contentEnd(dir.log) > endBefore)
        }
    }

    @Test func enospcWithACleanCutIsAnIOErrorAndTheHandleStaysUsable() throws {
        try withTemporaryDirectory("enospc") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            let endBefore = Disk.contentEnd(dir.log)
            // The first part of the record is written, then the disk is full.
            layer.probe.limitWrites(to: 12)
            layer.probe.fail(.write, of: Self.log, errno: SystemError.enospc, skip: 1)
            let error = #expect(throws: LogbookError.self) { try store.put("c", String(repeating: "3", count: 40)) }
            #expect(error?.code == .io)
            #expect(error?.errno == SystemError.enospc)
            #expect(error?.exitCode == 6)
            #expect(Disk.contentEnd(dir.log) == endBefore, "the partial record was cut off")
            #expect(try store.get("c") == nil)

            layer.probe.limitWrites(to: nil)
            try store.put("c", "3")
            #expect(try store.string("c") == "3")
            #expect(try store.verify().records == 3)
            store.close()
            try expectRecovered(dir, extra: [KeyValue(key: b("c"), value: b("3"))])
        }
    }

    /// A commit whose record reaches past the space allocated ahead writes zeros after it (see
    /// `LogFormat.preallocation`); those zeros are part of its append: when they fail, the
    /// commit fails and its record is cut off, as when the record's own write fails.
    @Test(arguments: [SystemError.enospc, SystemError.eio])
    func aFailedWriteOfTheZerosAheadFailsTheCommit(_ errno: Int32) throws {
        try withTemporaryDirectory("zeros") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            let endBefore = Disk.contentEnd(dir.log)
            let big = [UInt8](repeating: 0x42, count: Int(LogFormat.preallocation) + 100)
            layer.probe.reset()
            layer.probe.fail(.write, of: Self.log, errno: errno, skip: 1)
            let error = #expect(throws: LogbookError.self) { try store.put(b("big"), big) }
            let writes = layer.probe.calls.filter { $0.operation == .write }
            #expect(writes.map(\.zeros) == [false, true], "the record's write, then the zeros' that failed")
            #expect(error?.errno == errno)
            #expect(Disk.contentEnd(dir.log) == endBefore, "the record was cut off")
            #expect(try store.get(b("big")) == nil)
            guard errno == SystemError.enospc else {
                #expect(error?.code == .storeFailed)
                try expectFailStopped(store)
                store.close()
                try expectRecovered(dir)
                return
            }
            #expect(error?.code == .io)
            layer.probe.clearFaults()  // space is freed
            try store.put(b("big"), big)
            #expect(try store.get(b("big")) == big)
            store.close()
            try expectRecovered(dir, extra: [KeyValue(key: b("big"), value: big)])
        }
    }

    @Test func enospcThatCannotBeCutOffFailsStop() throws {
        try withTemporaryDirectory("enospcstop") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            layer.probe.fail(.write, of: Self.log, errno: SystemError.enospc)
            layer.probe.fail(.truncate, of: Self.log, errno: SystemError.eio)
            let error = #expect(throws: LogbookError.self) { try store.put("c", "3") }
            #expect(error?.code == .storeFailed)
            try expectFailStopped(store)
            store.close()
            try expectRecovered(dir)
        }
    }

    /// A write that makes no progress is reported as a full disk, not retried forever.
    @Test func aWriteThatMakesNoProgressIsENOSPC() throws {
        try withTemporaryDirectory("noprogress") { dir in
            let (store, layer) = try Self.openWithTwoCommits(dir)
            layer.probe.limitWrites(to: 0)
            let error = #expect(throws: LogbookError.self) { try store.put("c", "3") }
            #expect(error?.code == .io)
            #expect(error?.errno == SystemError.enospc)
            layer.probe.limitWrites(to: nil)
            try store.put("c", "3")
            store.close()
            try expectRecovered(dir, extra: [KeyValue(key: b("c"), value: b("3"))])
        }
    }

    @Test(arguments: [1, 3, 7, 64])
    func shortWritesAreCompletedAndTheRecordIsIntact(_ chunk: Int) throws {
        try withTemporaryDirectory("short") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: StoreOptions(durability: .normal).with(layer))
            layer.probe.limitWrites(to: chunk)
            layer.probe.reset()
            let big = [UInt8](repeating: 0x42, count: 500)
            try store.put("a", "1")
            try store.put(b("big"), big)
            try store.write { tx in
                try tx.put("x", "y")
                try tx.delete("a")
            }
            let writes = layer.probe.calls.filter { $0.operation == .write }.count
            #expect(writes > 3, "the layer really cut the writes short")
            var expectedLog = LogFormat.segmentHeader(number: 1)
            LogFormat.appendRecord(
                LogRecord(sequence: 1, mutations: [.put(key: b("a"), value: b("1"))]), to: &expectedLog)
            LogFormat.appendRecord(
                LogRecord(sequence: 2, mutations: [.put(key: b("big"), value: big)]), to: &expectedLog)
            LogFormat.appendRecord(
                LogRecord(sequence: 3, mutations: [.delete(key: b("a")), .put(key: b("x"), value: b("y"))]),
                to: &expectedLog)
            #expect(Disk.content(dir.log) == expectedLog)
            store.close()
            let reopened = try Store(path: dir.store, options: relaxed())
            #expect(try reopened.scan() == [KeyValue(key: b("big"), value: big), KeyValue(key: b("x"), value: b("y"))])
            reopened.close()
        }
    }

    @Test func aFailedDirectorySyncFailsCreationWithAnIOError() throws {
        try withTemporaryDirectory("dirsync") { dir in
            let layer = ProbeFileLayer()
            layer.probe.fail(.syncDirectory, of: dir.store, errno: SystemError.eio)
            let error = #expect(throws: LogbookError.self) {
                _ = try Store(path: dir.store, options: StoreOptions(durability: .normal).with(layer))
            }
            #expect(error?.code == .io)
            #expect(error?.errno == SystemError.eio)
            // Nothing was acknowledged; a later open with a healthy disk works.
            let store = try Store(path: dir.store)
            try store.put("a", "1")
            #expect(try store.string("a") == "1")
            store.close()
        }
    }
}
