import Logbook
import Testing

@Suite struct BackupAndDumpTests {
    @Test func backupLeavesATornTailBehindAndHoldsEveryCommittedPair() throws {
        try withTemporaryDirectory("backup") { dir in
            let store = try Store(path: dir.store)
            try store.put(b("a"), b("1"))
            try store.compact()
            try store.put(b("b"), [])
            try store.put(b("c"), [0, 0xFF])
            // The remains of a write cut short by a crash, after the last record.
            Disk.write(dir.store + "/log-2.wal", Disk.read(dir.store + "/log-2.wal") + [0x40, 0, 0, 0, 9])
            let report = try store.backup(to: dir.path + "/copy/")
            #expect(report.path == dir.path + "/copy")
            #expect(report.sequence == 3)
            #expect(report.generation == 2)
            #expect(
                report.files
                    == ["snapshot-1.dat", "snapshot-1.idx", "log-2.wal", "MANIFEST"].map {
                        dir.path + "/copy/" + $0
                    })
            #expect(report.verified.tornTail == nil)
            #expect(report.verified.records == 2)
            #expect(report.verified.snapshotKeys == 1)
            let copy = try Store(path: dir.path + "/copy", options: StoreOptions(createIfMissing: false))
            #expect(try copy.scan() == (try store.scan()))
            #expect(try copy.stats().lastSequence == 3)
            #expect(throws: LogbookError.self) { try store.backup(to: dir.path + "/copy") }  // not empty
            copy.close()
            store.close()
        }
    }

    @Test func dumpShowsADamagedSnapshotBlockAndGoesOn() throws {
        try withTemporaryDirectory("dump") { dir in
            let store = try Store(path: dir.store)
            // Values of 3000 bytes: one entry per block, three blocks.
            for key in ["a", "b", "c"] { try store.put(b(key), [UInt8](repeating: 0x61, count: 3000)) }
            try store.compact()
            store.close()
            Disk.flip(dir.store + "/snapshot-1.dat", at: 32 + 3023 + 100)  // inside block 2
            var items: [DumpItem] = []
            try Store.dump(path: dir.store, parts: .snapshot) { items.append($0) }
            let file = dir.store + "/snapshot-1.dat"
            #expect(items.count == 4)
            #expect(
                items.first == .snapshot(path: file, number: 1, keys: 3, blocks: 3, dataSize: 32 + 3 * 3023))
            guard items.count == 4 else { return }
            if case .block(_, let offset, let length, let entries) = items[1] {
                #expect(offset == 32 && length == 3023 && entries.map(\.key) == [b("a")])
            } else {
                Issue.record("expected block 1, got \(items[1])")
            }
            if case .damage(let path, let offset, let length, _, let torn) = items[2] {
                #expect(path == file && offset == 32 + 3023 && length == 3023 && !torn)
            } else {
                Issue.record("expected damage, got \(items[2])")
            }
            if case .block(_, let offset, _, let entries) = items[3] {
                #expect(offset == 32 + 2 * 3023 && entries.map(\.key) == [b("c")])
            } else {
                Issue.record("expected block 3, got \(items[3])")
            }
        }
    }
}
