// A full disk (ENOSPC) at every write of a commit and of a compaction: the caller gets an `io`
// error naming the file and saying the disk is full, nothing is half-written or acknowledged,
// reads go on, and once space is freed the same handle commits and compacts again; a reopen sees
// every acknowledged commit and verifies.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct DiskFullTests {
    /// A store with a snapshot and log records on top: 150 keys compacted, then a transaction
    /// that rewrites, adds and deletes some. Returns the store and what it must hold.
    static func storeWithHistory(_ dir: TemporaryDirectory, _ durability: Durability, _ layer: ProbeFileLayer)
        throws -> (Store, ReferenceModel)
    {
        var model = ReferenceModel()
        let store = try Store(
            path: dir.store,
            options: StoreOptions(durability: durability, autoCompactLogBytes: nil).with(layer))
        try store.write { tx in
            for i in 0..<150 {
                try tx.put(b("key-\(i)"), b("value-\(i)-" + String(repeating: "v", count: i % 60)))
            }
        }
        for i in 0..<150 {
            model.put(b("key-\(i)"), b("value-\(i)-" + String(repeating: "v", count: i % 60)))
        }
        try store.compact()
        try store.write { tx in
            for i in stride(from: 0, to: 150, by: 7) { try tx.delete(b("key-\(i)")) }
            for i in 150..<170 { try tx.put(b("key-\(i)"), b("later-\(i)")) }
        }
        for i in stride(from: 0, to: 150, by: 7) { model.delete(b("key-\(i)")) }
        for i in 150..<170 { model.put(b("key-\(i)"), b("later-\(i)")) }
        #expect(try store.scan() == model.all)
        return (store, model)
    }

    static func expectDiskFull(
        _ error: LogbookError?, _ context: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            error?.code == .io, "\(context): \(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error?.errno == SystemError.enospc, "\(context)", sourceLocation: sourceLocation)
        #expect(error?.path != nil, "\(context): the error names the file", sourceLocation: sourceLocation)
        #expect(
            error?.message.contains("No space left on device") == true, "\(context): \(error?.message ?? "")",
            sourceLocation: sourceLocation)
        #expect(error?.exitCode == 6, sourceLocation: sourceLocation)
    }

    /// The disk fills up at the n-th write of a commit (the record takes 11 writes of 32 bytes),
    /// for every n: the commit fails cleanly, and after space is freed the same handle commits it.
    @Test(arguments: Durability.allCases)
    func diskFullAtEveryWriteOfACommit(_ durability: Durability) throws {
        try withTemporaryDirectory("fullcommit", inMemory: true) { dir in
            let layer = ProbeFileLayer()
            let (store, startModel) = try Self.storeWithHistory(dir, durability, layer)
            var model = startModel
            let log = dir.store + "/log-2.wal"
            let value = [UInt8](repeating: 0x5A, count: 300)
            layer.probe.limitWrites(to: 32)
            for n in 0..<11 {
                let key = b("big-\(n)")
                let endBefore = Disk.contentEnd(log)
                layer.probe.reset()
                layer.probe.fail(.write, of: "*", errno: SystemError.enospc, skip: n, times: Int.max)
                let error = #expect(throws: LogbookError.self, "write \(n)") { try store.put(key, value) }
                Self.expectDiskFull(error, "write \(n) of the commit")
                #expect(error?.path == log)
                #expect(error?.message.contains("nothing written") == true, "\(error?.message ?? "")")
                #expect(layer.probe.count(.write) == n + 1, "the fault hit write \(n)")
                #expect(Disk.contentEnd(log) == endBefore, "the partial record was cut off")
                #expect(try store.get(key) == nil)
                #expect(try store.scan() == model.all)

                layer.probe.clearFaults()  // space is freed
                try store.put(key, value)
                model.put(key, value)
                #expect(Disk.contentEnd(log) == endBefore + 9 + 12 + 7 + key.count + 300)
            }
            #expect(try store.verify().records == 12)
            store.close()
            let reopened = try Store(path: dir.store, options: StoreOptions(durability: durability))
            #expect(try reopened.scan() == model.all)
            #expect(try reopened.verify().records == 12)
            reopened.close()
        }
    }

    /// The disk fills up at the n-th write of a compaction (segment header, MANIFEST, snapshot
    /// data in 1 KiB writes, index), for every n until a compaction has room to finish.
    @Test(arguments: Durability.allCases)
    func diskFullAtEveryWriteOfACompaction(_ durability: Durability) throws {
        try withTemporaryDirectory("fullcompact", inMemory: true) { dir in
            let layer = ProbeFileLayer()
            let (store, startModel) = try Self.storeWithHistory(dir, durability, layer)
            var model = startModel
            layer.probe.limitWrites(to: 1024)
            var n = 0
            var failedFiles: Set<String> = []
            while true {
                layer.probe.reset()
                layer.probe.fail(.write, of: "*", errno: SystemError.enospc, skip: n, times: Int.max)
                let report: CompactionReport
                do {
                    report = try store.compact()
                } catch let error as LogbookError {
                    Self.expectDiskFull(error, "write \(n) of the compaction")
                    if let path = error.path { failedFiles.insert(String(path.split(separator: "/").last!)) }
                    #expect(layer.probe.count(.write) == n + 1)
                    // While the disk is full: reads answer, a commit fails cleanly.
                    #expect(try store.scan() == model.all, "write \(n)")
                    let refused = #expect(throws: LogbookError.self) { try store.put("while-full", "x") }
                    Self.expectDiskFull(refused, "commit while full after write \(n)")
                    // Space is freed: the same handle goes on.
                    layer.probe.clearFaults()
                    try store.put(b("after-\(n)"), b("ok"))
                    model.put(b("after-\(n)"), b("ok"))
                    #expect(try store.scan() == model.all, "write \(n)")
                    _ = try store.verify()
                    n += 1
                    #expect(n < 200)
                    if n >= 200 { return }
                    continue
                }
                // The fault never fired: this compaction had room.
                #expect(layer.probe.count(.write) == n)
                #expect(report.keys == UInt64(model.count))
                break
            }
            layer.probe.clearFaults()
            #expect(n > 8, "the compaction took \(n) writes")
            // Every kind of file the compaction writes ran out of space at some point.
            #expect(
                failedFiles.contains { $0.hasPrefix("log-") && $0.hasSuffix(".wal.tmp") }, "\(failedFiles)")
            #expect(failedFiles.contains("MANIFEST.tmp"), "\(failedFiles)")
            #expect(failedFiles.contains { $0.hasSuffix(".dat.tmp") }, "\(failedFiles)")
            #expect(failedFiles.contains { $0.hasSuffix(".idx.tmp") }, "\(failedFiles)")
            #expect(try store.scan() == model.all)
            store.close()

            let reopened = try Store(path: dir.store, options: StoreOptions(durability: durability))
            #expect(try reopened.scan() == model.all)
            _ = try reopened.verify()
            try reopened.compact()
            #expect(try reopened.scan() == model.all)
            reopened.close()
            let names = try PosixFileLayer().listDirectory(dir.store)
            #expect(
                names.count == 5
                    && names.filter { !$0.hasPrefix("snapshot-") && !$0.hasPrefix("log-") } == [
                        "LOCK", "MANIFEST",
                    ], "\(names)")
        }
    }
}
