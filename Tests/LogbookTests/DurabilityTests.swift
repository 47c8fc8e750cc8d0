// The durability modes, proven by counting the syncs that reach the file layer:
// relaxed never syncs the log, normal fdatasyncs it once per commit, paranoid fsyncs it once
// per commit; normal and paranoid sync the directory after creating files, relaxed does not.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct DurabilityTests {
    static let log = "log-1.wal"

    /// Runs a mix of commits and of operations that write nothing; returns how many committed.
    static func workload(_ store: Store) throws -> Int {
        var commits = 0
        for i in 0..<20 {
            try store.put("k\(i)", "v\(i)")
            commits += 1
        }
        for i in 0..<5 {
            try store.write { tx in
                let n = Int(try tx.string("counter") ?? "0")!
                try tx.put("counter", String(n + 1))
                try tx.put("other\(i)", "x")
            }
            commits += 1
        }
        #expect(try store.delete("k0") == true)
        commits += 1
        #expect(try store.compareAndSwap(b("k1"), expected: b("v1"), new: b("w1")))
        commits += 1
        // Nothing to write: no record, so nothing to sync.
        #expect(try store.delete("absent") == false)
        #expect(try store.compareAndSwap(b("k1"), expected: b("wrong"), new: b("x")) == false)
        #expect(try store.compareAndSwap(b("absent"), expected: nil, new: nil))
        try store.write { tx in _ = try tx.get("k2") }
        return commits
    }

    @Test func relaxedNeverSyncsTheLogNorTheDirectory() throws {
        try withTemporaryDirectory("relaxed") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: relaxed().with(layer))
            let commits = try Self.workload(store)
            #expect(layer.probe.calls.filter { $0.operation == .sync }.isEmpty)
            #expect(layer.probe.directorySyncs.isEmpty)
            #expect(try store.stats().syncs == 0)
            #expect(try store.stats().commits == UInt64(commits))
            store.close()

            let reopened = try Store(path: dir.store, options: relaxed().with(layer))
            try reopened.put("after", "reopen")
            #expect(layer.probe.calls.filter { $0.operation == .sync || $0.operation == .syncDirectory }.isEmpty)
            reopened.close()
        }
    }

    /// `relaxed` never syncs the log, but it starts writing back each mebibyte once it is
    /// complete, so that the sync a compaction's seal makes has little left to write; a
    /// compaction starts writing the new snapshot back as it writes it (its sync at the end then
    /// waits for the tail). `normal` syncs every commit and asks for no write-back of the log.
    @Test func relaxedWritesTheLogBackEachMebibyteWithoutSyncing() throws {
        try withTemporaryDirectory("writeback") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: relaxed { $0.autoCompactLogBytes = nil }.with(layer))
            let value = [UInt8](repeating: 7, count: 50_000)
            for i in 0..<55 { try store.put(b("k\(i)"), value) }  // about 2.6 MiB of log
            let mebibyte: UInt64 = 1 << 20
            #expect(layer.probe.writebacks(of: Self.log) == [0..<mebibyte, mebibyte..<2 * mebibyte])
            #expect(layer.probe.syncs(of: Self.log).isEmpty)

            layer.probe.reset()
            _ = try store.compact()
            let data = layer.probe.calls.filter { $0.operation == .writeback }
            #expect(data.count >= 2 && data.allSatisfy { $0.file == "snapshot-1.dat.tmp" }, "\(data)")
            // Contiguous, all before the file's one sync.
            #expect(zip(data, data.dropFirst()).allSatisfy { $0.range!.upperBound == $1.range!.lowerBound })
            let dataCalls = layer.probe.calls.filter { $0.file == "snapshot-1.dat.tmp" }.map(\.operation)
            #expect(dataCalls.lastIndex(of: .writeback)! < dataCalls.firstIndex(of: .sync)!)
            store.close()

            let normal = ProbeFileLayer()
            let durable = try Store(path: dir.path + "/normal", options: StoreOptions(durability: .normal).with(normal))
            for i in 0..<55 { try durable.put(b("k\(i)"), value) }
            #expect(normal.probe.writebacks(of: Self.log).isEmpty)
            durable.close()
        }
    }

    @Test(arguments: [Durability.normal, .paranoid])
    func everyCommitSyncsTheLogExactlyOnce(_ durability: Durability) throws {
        try withTemporaryDirectory("\(durability)") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: StoreOptions(durability: durability).with(layer))
            layer.probe.reset()
            let commits = try Self.workload(store)
            // normal: fdatasync (dataOnly), never fsync; paranoid: fsync, never fdatasync.
            #expect(layer.probe.syncs(of: Self.log) == Array(repeating: durability == .normal, count: commits))
            #expect(layer.probe.calls.filter { $0.operation == .sync && $0.file != Self.log }.isEmpty)
            #expect(try store.stats().syncs == UInt64(commits))
            // Each sync follows the commit's one write of the log (and its zeros written ahead).
            let logCalls = layer.probe.calls.filter {
                $0.file == Self.log && [.write, .sync].contains($0.operation) && $0.zeros != true
            }
            #expect(
                logCalls.map(\.operation)
                    == Array(repeating: [ProbeFileLayer.Operation.write, .sync], count: commits).flatMap { $0 })
            store.close()
        }
    }

    /// The hot path: one write(2) of the log per commit, whatever the mode.
    @Test(arguments: Durability.allCases)
    func everyCommitIsOneWriteOfTheLog(_ durability: Durability) throws {
        try withTemporaryDirectory("writes") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: StoreOptions(durability: durability).with(layer))
            layer.probe.reset()
            let commits = try Self.workload(store)
            let writes = layer.probe.calls.filter { $0.operation == .write }
            #expect(writes.filter { $0.zeros != true }.map(\.file) == Array(repeating: Self.log, count: commits))
            Self.expectZerosAhead(writes, durability)
            store.close()
        }
    }

    /// As the log grows, each append that passes the space allocated ahead allocates the next
    /// unit; the file is always the records, then zeros to a multiple of the unit, and a reopen
    /// reads every record and finds no torn tail. `relaxed` allocates nothing.
    @Test(arguments: Durability.allCases)
    func zerosAreWrittenAheadAgainAsTheLogGrows(_ durability: Durability) throws {
        try withTemporaryDirectory("ahead") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(
                path: dir.store, options: StoreOptions(durability: durability, autoCompactLogBytes: nil).with(layer))
            let value = [UInt8](repeating: 0x61, count: 4000)
            for i in 0..<40 {
                try store.put(b("k\(i)"), value)
                let (size, end) = (UInt64(Disk.size(dir.log)), UInt64(Disk.contentEnd(dir.log)))
                let unit = LogFormat.preallocation
                #expect(size == (durability == .relaxed ? end : (end / unit + 1) * unit), "after put \(i)")
            }
            let writes = layer.probe.calls.filter { $0.operation == .write && $0.file == Self.log }
            Self.expectZerosAhead(writes, durability)
            if durability != .relaxed { #expect(writes.filter { $0.zeros == true }.count == 3) }
            store.close()
            // Another handle reads the zeros as the end of the log, not as a torn tail to cut off,
            // also when a fresh shared page sends its first commit to read the files again.
            Disk.removeTree(dir.store + "/" + ProcessLock.fileName)
            let probe = ProbeFileLayer()
            let reopened = try Store(path: dir.store, options: StoreOptions(durability: durability).with(probe))
            #expect(try reopened.scan().count == 40)
            let report = try reopened.verify()
            #expect(report.records == 40 && report.tornTail == nil)
            try reopened.put("after", "reopen")
            #expect(UInt64(Disk.contentEnd(dir.log)) > report.bytes)
            #expect(!probe.probe.calls.contains { $0.operation == .truncate && $0.file == Self.log })
            reopened.close()
        }
    }

    /// `normal` and `paranoid` write zeros ahead of the log's end (`LogFormat.preallocation`),
    /// so that their syncs need not make a new file size durable: each such write follows a
    /// commit's write, starts where it ended and ends on a multiple of the unit. `relaxed`
    /// never syncs the log, so it writes none.
    static func expectZerosAhead(
        _ writes: [ProbeFileLayer.Call], _ durability: Durability, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let zeros = writes.indices.filter { writes[$0].zeros == true }
        guard durability != .relaxed else {
            #expect(zeros.isEmpty, sourceLocation: sourceLocation)
            return
        }
        #expect(!zeros.isEmpty, "the first commit allocates ahead", sourceLocation: sourceLocation)
        for i in zeros {
            guard i > 0, let range = writes[i].range, let record = writes[i - 1].range else {
                Issue.record("zeros written first, or without a range", sourceLocation: sourceLocation)
                continue
            }
            #expect(writes[i].file == Self.log && writes[i - 1].zeros == false, sourceLocation: sourceLocation)
            #expect(range.lowerBound == record.upperBound, sourceLocation: sourceLocation)
            #expect(range.upperBound % LogFormat.preallocation == 0, sourceLocation: sourceLocation)
            #expect(range.count <= LogFormat.preallocation, sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: Durability.allCases)
    func creatingAStoreSyncsTheNewFilesAndDirectoriesExceptInRelaxed(_ durability: Durability) throws {
        try withTemporaryDirectory("create") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: StoreOptions(durability: durability).with(layer))
            let calls = layer.probe.calls
            let temporarySync = calls.firstIndex { $0.operation == .sync && $0.file == "log-1.wal.tmp" }
            let rename = calls.firstIndex { $0.operation == .rename && $0.file == Self.log }
            let storeSync = calls.firstIndex { $0.operation == .syncDirectory && $0.file == dir.store }
            #expect(rename != nil, "the log is created under a temporary name and renamed into place")
            if durability == .relaxed {
                #expect(layer.probe.directorySyncs.isEmpty)
                #expect(temporarySync == nil)
            } else {
                // The new store directory is made durable in its parent, the log's header is
                // synced before the rename, and the rename is made durable by syncing the store.
                #expect(layer.probe.directorySyncs == [dir.path, dir.store])
                #expect(layer.probe.syncs(of: "log-1.wal.tmp") == [durability == .normal])
                if let temporarySync, let rename, let storeSync {
                    #expect(temporarySync < rename && rename < storeSync)
                }
            }
            store.close()

            // Opening an existing store creates nothing and syncs nothing.
            layer.probe.reset()
            let again = try Store(path: dir.store, options: StoreOptions(durability: durability).with(layer))
            #expect(layer.probe.directorySyncs.isEmpty)
            #expect(layer.probe.calls.filter { $0.operation == .sync }.isEmpty)
            again.close()
        }
    }

    @Test(arguments: [Durability.normal, .paranoid])
    func anExistingEmptyDirectoryOnlyNeedsItsOwnSync(_ durability: Durability) throws {
        try withTemporaryDirectory("emptydir") { dir in
            Disk.makeDirectory(dir.store)
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: StoreOptions(durability: durability).with(layer))
            #expect(layer.probe.directorySyncs == [dir.store])
            #expect(!layer.probe.calls.contains { $0.operation == .makeDirectory })
            store.close()
        }
    }
}
