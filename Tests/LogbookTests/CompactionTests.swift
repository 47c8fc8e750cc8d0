import Dispatch
import Glibc
import Testing

@_spi(Testing) @testable import Logbook

private func temporaryStore(_ name: String) -> String {
    "/tmp/lb-\(name)-\(UInt64.random(in: 0...UInt64.max))"
}

private func contents(_ store: Store) throws -> [String: String] {
    var result: [String: String] = [:]
    for pair in try store.scan() {
        result[String(decoding: pair.key, as: UTF8.self)] = String(decoding: pair.value, as: UTF8.self)
    }
    return result
}

@Suite struct CompactionTests {
    @Test func compactionKeepsEveryLivePairAndRollsTheLog() throws {
        let dir = temporaryStore("compact")
        var model: [String: String] = [:]
        let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        for i in 0..<3000 {
            let key = "k\(i % 1700)"
            if i % 7 == 3 {
                try store.delete(key)
                model[key] = nil
            } else {
                try store.put(key, "v\(i)")
                model[key] = "v\(i)"
            }
        }
        let report = try store.compact()
        #expect(report.keys == UInt64(model.count))
        #expect(try contents(store) == model)
        let files = try PosixFileLayer().listDirectory(dir)
        #expect(files == ["LOCK", "MANIFEST", "log-2.wal", "snapshot-1.dat", "snapshot-1.idx"])

        // Writes after the snapshot overlay it: puts, deletes of snapshot keys, new keys.
        try store.delete("k5")
        model["k5"] = nil
        try store.put("k6", "new")
        model["k6"] = "new"
        try store.put("zz", "last")
        model["zz"] = "last"
        #expect(try contents(store) == model)
        #expect(try store.string("k6") == "new")
        #expect(try store.get("k5") == nil)
        let reversed = try store.scan(ScanOptions(prefix: Array("k1".utf8), limit: 5, reverse: true))
        let expected = model.keys.filter { $0.hasPrefix("k1") }.sorted(by: >).prefix(5)
        #expect(reversed.map { String(decoding: $0.key, as: UTF8.self) } == Array(expected))

        let second = try store.compact()
        #expect(second.snapshot == 2)
        #expect(try contents(store) == model)
        store.close()

        let reopened = try Store(path: dir)
        #expect(try contents(reopened) == model)
        let verified = try reopened.verify()
        #expect(verified.snapshotKeys == UInt64(model.count))
        #expect(
            try PosixFileLayer().listDirectory(dir) == [
                "LOCK", "MANIFEST", "log-3.wal", "snapshot-2.dat", "snapshot-2.idx",
            ])
    }

    @Test func anotherHandleMovesToTheNewGenerationByItself() throws {
        let dir = temporaryStore("generation")
        let a = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        let b = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        for i in 0..<500 { try a.put("key\(i)", "\(i)") }
        #expect(try b.string("key499") == "499")
        let before = try b.read { tx in try tx.scan().count }
        try a.compact()
        // b reads the new snapshot and appends to the new log segment.
        #expect(try b.string("key7") == "7")
        try b.put("key7", "seven")
        try b.delete("key8")
        #expect(try a.string("key7") == "seven")
        #expect(try a.get("key8") == nil)
        #expect(before == 500)
        #expect(try a.scan().count == 499)
        // A compaction by b while a holds an old read view: the view stays readable.
        try a.read { old in
            try b.compact()
            #expect(try old.string("key9") == "9")
            #expect(try old.scan().count == 499)
        }
        #expect(try a.stats().snapshot == 2)
        #expect(try a.verify().records == 0)
    }

    @Test func transactionsSeeSnapshotValuesAndConflicts() throws {
        let dir = temporaryStore("txsnap")
        let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        try store.put("counter", "0")
        try store.compact()
        for _ in 0..<10 {
            try store.write { tx in
                let n = Int(try tx.string("counter")!)!
                try tx.put("counter", String(n + 1))
            }
        }
        #expect(try store.string("counter") == "10")
        try store.compact()
        #expect(try store.compareAndSwap(Array("counter".utf8), expected: Array("10".utf8), new: nil))
        #expect(try store.get("counter") == nil)
        store.close()
        #expect(try Store(path: dir).get("counter") == nil)
    }

    /// Automatic compaction, in the commit that finds it due or on the handle's compactor
    /// thread: which thread renamed the new snapshots into place tells which ran them.
    @Test(arguments: [false, true])
    func automaticCompactionRunsPastTheThreshold(inBackground: Bool) throws {
        let dir = temporaryStore("auto")
        defer { Disk.removeTree(dir) }
        let layer = ProbeFileLayer()
        var options = StoreOptions(
            durability: .relaxed, autoCompactLogBytes: 64 << 10, compactInBackground: inBackground)
        options.fileLayer = layer
        let store = try Store(path: dir, options: options)
        let value = [UInt8](repeating: 7, count: 200)
        for i in 0..<2000 { try store.put(Array("key\(i % 300)".utf8), value) }
        var waits = 0
        while try store.stats().lastCompaction == nil && waits < 2000 {
            usleep(5_000)  // a background compaction finishing (at most 10 s)
            waits += 1
        }
        let stats = try store.stats()
        #expect(stats.snapshot > 0)
        #expect(stats.keys == 300)
        #expect(stats.lastCompactionError == nil)
        // In the background the log grows on while a compaction runs.
        if !inBackground { #expect(stats.logBytes < 64 << 10 + 4096) }
        let me = UInt(pthread_self())
        let compactingThreads = layer.probe.threads {
            $0.operation == .rename && $0.file.hasPrefix("snapshot-") && $0.file.hasSuffix(".dat")
        }
        #expect(!compactingThreads.isEmpty)
        #expect(compactingThreads.allSatisfy { ($0 == me) == !inBackground })
        store.close()
        let reopened = try Store(path: dir)
        defer { reopened.close() }
        #expect(try reopened.stats().keys == 300)
        #expect(try reopened.get(Array("key299".utf8)) == value)
    }

    /// Past the threshold, automatic compaction also waits for the log to outgrow the snapshot
    /// divided by `autoCompactSnapshotDivisor` (0: the snapshot does not count).
    @Test(arguments: [(1, false), (16, true), (0, true)] as [(UInt64, Bool)])
    func automaticCompactionWaitsForTheSnapshotsShare(divisor: UInt64, compacts: Bool) throws {
        let dir = temporaryStore("share")
        defer { Disk.removeTree(dir) }
        let value = [UInt8](repeating: 7, count: 200)
        do {  // a snapshot of 500 keys, ~110 KB
            let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
            defer { store.close() }
            for i in 0..<500 { try store.put(Array("key\(i)".utf8), value) }
            _ = try store.compact()
        }
        let options = StoreOptions(
            durability: .relaxed, autoCompactLogBytes: 16 << 10, autoCompactSnapshotDivisor: divisor,
            compactInBackground: false)
        let store = try Store(path: dir, options: options)
        defer { store.close() }
        let before = try store.stats()
        #expect(before.snapshot > 0 && before.logBytes < 100)
        // ~22 KB of log: past the threshold, a fifth of the snapshot.
        for i in 0..<100 { try store.put(Array("new\(i)".utf8), value) }
        let after = try store.stats()
        #expect(after.keys == 600)
        if compacts {
            #expect(after.snapshot > before.snapshot, "divisor \(divisor): compacted")
            #expect(after.logBytes < 16 << 10)
        } else {
            #expect(after.snapshot == before.snapshot, "divisor \(divisor): the log is shorter than the snapshot")
            #expect(after.logBytes > 20 << 10)
        }
    }

    /// While the compactor thread is inside a slow compaction (its new snapshot's first disk
    /// call held for a second), commits go on, and enough of them ask for the next compaction;
    /// closing the handle then waits for both: the reopened store holds the second snapshot.
    @Test func commitsGoOnDuringABackgroundCompactionAndCloseRunsTheOneAskedFor() throws {
        let dir = temporaryStore("auto-slow")
        defer { Disk.removeTree(dir) }
        let layer = ProbeFileLayer()
        layer.probe.pause(.open, of: SnapshotFormat.dataName(1) + ".tmp", microseconds: 1_000_000)
        var options = StoreOptions(durability: .relaxed, autoCompactLogBytes: 32 << 10, compactInBackground: true)
        options.fileLayer = layer
        let store = try Store(path: dir, options: options)
        let value = [UInt8](repeating: 1, count: 100)
        func started(_ file: String) -> Bool {
            layer.probe.calls.contains { $0.operation == .open && $0.file == file }
        }
        var i = 0
        while !started(SnapshotFormat.dataName(1) + ".tmp") && i < 100_000 {
            try store.put(Array("key\(i % 500)".utf8), value)
            i += 1
        }
        // The first compaction is asleep in its first write; these commits do not wait for it,
        // and they cross the threshold again.
        for j in 0..<600 { try store.put(Array("key\(j % 500)".utf8), value) }
        #expect(!layer.probe.calls.contains { $0.operation == .rename && $0.file == SnapshotFormat.dataName(1) })
        store.close()
        let reopened = try Store(path: dir)
        defer { reopened.close() }
        #expect(try reopened.stats().snapshot == 2)
        #expect(try reopened.stats().keys == 500)
    }

    /// Closing a handle while its compactor thread compacts waits for that compaction; nothing
    /// is lost, and the store verifies.
    @Test func closeWaitsForABackgroundCompaction() throws {
        for round in 0..<5 {
            let dir = temporaryStore("auto-close")
            defer { Disk.removeTree(dir) }
            let store = try Store(
                path: dir,
                options: StoreOptions(durability: .relaxed, autoCompactLogBytes: 32 << 10, compactInBackground: true))
            var expected: [String: String] = [:]
            for i in 0..<(600 + 150 * round) {
                let key = "key\(i % 400)"
                let value = "value \(i) " + String(repeating: "x", count: 100)
                try store.put(key, value)
                expected[key] = value
            }
            store.close()
            // Nothing of a compaction is left half done (its temporary files) once close returns.
            let names = try PosixFileLayer().listDirectory(dir)
            #expect(!names.contains { $0.hasSuffix(".tmp") }, "round \(round): \(names)")
            #expect(throws: LogbookError.self) { try store.put("after", "close") }
            let reopened = try Store(path: dir)
            defer { reopened.close() }
            #expect(try contents(reopened) == expected, "round \(round)")
            #expect(try reopened.verify().tornTail == nil, "round \(round)")
            #expect(try reopened.stats().snapshot > 0, "round \(round)")
        }
    }

    /// The seal cuts the zeros a `normal` writer allocated ahead off the segment it seals: a
    /// sealed segment ends at its last record (here one a failed compaction leaves behind).
    @Test func aSealedSegmentEndsAtItsLastRecord() throws {
        try withTemporaryDirectory("sealed") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: StoreOptions(durability: .normal).with(layer))
            for i in 1...3 { try store.put("k\(i)", "v\(i)") }
            #expect(Disk.size(dir.log) == Int(LogFormat.preallocation))
            layer.probe.fail(.write, of: SnapshotFormat.dataName(1) + ".tmp", errno: SystemError.eio)
            #expect(throws: LogbookError.self) { try store.compact() }
            #expect(Disk.exists(dir.store + "/" + LogFormat.segmentName(2)), "the log was sealed")
            #expect(Disk.size(dir.log) == Disk.contentEnd(dir.log))
            try store.put("k4", "v4")
            store.close()
            let reopened = try Store(path: dir.store)
            #expect(try reopened.scan().count == 4)
            #expect(try reopened.verify().records == 4)
            reopened.close()
        }
    }
}

@Suite struct CompactionLifecycleTests {
    /// Two threads of one handle compacting at once take turns; closing the handle waits for a
    /// compaction in flight, after which compacting fails with `closed`.
    @Test func concurrentCompactionsAndCloseOnOneHandle() throws {
        let dir = "/tmp/lb-compact-close-\(UInt64.random(in: 0...UInt64.max))"
        let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        for i in 0..<3000 { try store.put(Array("key\(i)".utf8), [UInt8](repeating: UInt8(i % 251), count: 64)) }
        let reports = Locked<[UInt64]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<3 {
                if let report = try? store.compact() { reports.withLock { $0.append(report.snapshot) } }
            }
        }
        #expect(reports.withLock { $0.sorted() } == [1, 2, 3, 4, 5, 6])
        let closer = Locked<LogbookError?>(nil)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                store.close()
            } else {
                do { _ = try store.compact() } catch let error as LogbookError {
                    closer.withLock { $0 = error }
                } catch {}
            }
        }
        if let error = closer.withLock({ $0 }) { #expect(error.code == .closed) }
        #expect(throws: LogbookError.self) { try store.compact() }
        let reopened = try Store(path: dir)
        #expect(try reopened.stats().keys == 3000)
        _ = try reopened.verify()
    }
}
