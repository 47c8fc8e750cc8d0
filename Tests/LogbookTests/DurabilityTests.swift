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
            // Each sync follows the commit's one write of the log.
            let logCalls = layer.probe.calls.filter { $0.file == Self.log && [.write, .sync].contains($0.operation) }
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
            #expect(
                layer.probe.calls.filter { $0.operation == .write }.map(\.file)
                    == Array(repeating: Self.log, count: commits))
            store.close()
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
