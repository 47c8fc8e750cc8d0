// Store.repair(path:): a healthy store is left alone; a damaged one is backed up, salvaged
// (longest valid log prefix, every intact snapshot block, a rebuilt index, a rebuilt MANIFEST)
// into a clean store that verifies and takes commits, and the report says exactly what was lost.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct RepairTests {
    static func names(_ directory: String) -> [String] {
        (try? PosixFileLayer().listDirectory(directory)) ?? []
    }

    static func backup(_ report: RepairReport, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard let path = report.backupPath else {
            Issue.record("no backup", sourceLocation: sourceLocation)
            return "/nonexistent"
        }
        return path
    }

    @Test func aHealthyStoreIsLeftAlone() throws {
        try withTemporaryDirectory("repairok") { dir in
            let store = try Store(path: dir.store, options: relaxedWrites())
            let history = try SampleHistory.commit(to: store)
            store.close()
            Disk.write(dir.log, Disk.read(dir.log) + [1, 2, 3])  // a torn tail is not damage
            let before = Disk.read(dir.log)
            let report = try Store.repair(path: dir.store)
            #expect(!report.repaired)
            #expect(report.problems == [])
            #expect(report.backupPath == nil)
            #expect(
                report.keptRecords == history.count && report.droppedRecords == 0 && report.droppedBytes == 0)
            #expect(report.tornTailBytes == 3)
            #expect(report.keys == history.states.last!.count && report.lastSequence == 6)
            #expect(Disk.read(dir.log) == before)
            #expect(Self.names(dir.store) == ["LOCK", "log-1.wal"])
        }
    }

    /// A relaxed store's first segment cut short by a power cut is an empty store, not damage.
    @Test func anUnfinishedFirstSegmentIsNotDamage() throws {
        try withTemporaryDirectory("repairfirst") { dir in
            try Store(path: dir.store, options: relaxed()).close()
            Disk.write(dir.log, [0, 0, 0, 0, 0])
            let report = try Store.repair(path: dir.store)
            #expect(
                !report.repaired && report.problems == [] && report.tornTailBytes == 5 && report.keys == 0)
            #expect(Disk.read(dir.log) == [0, 0, 0, 0, 0])
        }
    }

    @Test func aMissingStoreIsNotFound() throws {
        withTemporaryDirectory("repairnone") { dir in
            let missing = #expect(throws: LogbookError.self) { try Store.repair(path: dir.store) }
            #expect(missing?.code == .notFound)
            Disk.makeDirectory(dir.store)
            let empty = #expect(throws: LogbookError.self) { try Store.repair(path: dir.store) }
            #expect(empty?.code == .notFound)
            #expect(Self.names(dir.store) == [])
        }
    }

    /// Record 2 of 6 damaged: record 1 is kept, the damaged record and the four intact ones after
    /// it are dropped (their keys named); the damaged file is in the backup, byte for byte.
    @Test func midLogDamageKeepsTheLongestValidPrefix() throws {
        try withTemporaryDirectory("repairlog") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            let history = try SampleHistory.commit(to: store)
            store.close()
            var damaged = Disk.read(dir.log)
            damaged[history.starts[1] + 12] ^= 0x04
            Disk.write(dir.log, damaged)
            #expect(throws: LogbookError.self) { _ = try Store(path: dir.store) }

            let report = try Store.repair(path: dir.store)
            #expect(report.repaired)
            #expect(report.problems.count == 1)
            #expect(
                report.problems == [
                    "log-1.wal at offset \(history.starts[1]) (record 2 of the segment): checksum mismatch; a valid "
                        + "record follows at offset \(history.starts[2]); 1 records before it kept, 5 dropped from there on"
                ])
            #expect(report.keptRecords == 1)
            #expect(report.droppedRecords == 5)
            #expect(report.droppedBytes == UInt64(history.end - history.starts[1]))
            #expect(report.droppedKeys == ["a", "b", "c", "d", "e", "z"].map(b))
            #expect(report.droppedBlocks == [])
            #expect(report.keys == 1 && report.lastSequence == 1)
            let backup = Self.backup(report)
            #expect(backup.hasPrefix(dir.store + "/backup-"))
            #expect(Self.names(backup) == ["log-1.wal"])
            #expect(Disk.read(backup + "/log-1.wal") == damaged)
            #expect(
                Self.names(dir.store).filter { !$0.hasPrefix("backup-") }
                    == ["LOCK", "MANIFEST", "log-2.wal", "snapshot-1.dat", "snapshot-1.idx"])

            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == history.states[1])
            #expect(try repaired.verify().snapshotKeys == 1)
            try repaired.put("after", "repair")
            #expect(try repaired.stats().lastSequence == 2)
            repaired.close()
            #expect(try Store.repair(path: dir.store).repaired == false, "a repaired store needs no repair")
        }
    }

    /// Damage in the very first record of a never-compacted store: nothing is left, and the
    /// repaired store is an empty one that takes commits from sequence 1.
    @Test func damageInTheFirstRecordLeavesAnEmptyStore() throws {
        try withTemporaryDirectory("repairfirstrecord") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            let history = try SampleHistory.commit(to: store)
            store.close()
            Disk.flip(dir.log, at: history.starts[0] + 4)
            let report = try Store.repair(path: dir.store)
            #expect(report.repaired && report.keptRecords == 0 && report.droppedRecords == 6)
            #expect(report.keys == 0 && report.lastSequence == 0)
            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == [])
            #expect(try repaired.verify().snapshotKeys == 0)
            try repaired.put("a", "1")
            #expect(try repaired.stats().lastSequence == 1)
            repaired.close()
            #expect(try Store(path: dir.store).string("a") == "1")
        }
    }

    /// A store with a three-block snapshot and log records on top.
    static func compactedStore(_ dir: TemporaryDirectory) throws -> (
        model: ReferenceModel, index: SnapshotFormat.Index
    ) {
        var model = ReferenceModel()
        let store = try Store(path: dir.store, options: relaxed())
        defer { store.close() }
        try store.write { tx in
            for i in 0..<150 {
                try tx.put(b("key-\(1000 + i)"), b("value-\(i)-" + String(repeating: "x", count: 40)))
            }
        }
        for i in 0..<150 {
            model.put(b("key-\(1000 + i)"), b("value-\(i)-" + String(repeating: "x", count: 40)))
        }
        try store.compact()
        try store.put("key-1000", "rewritten")
        model.put(b("key-1000"), b("rewritten"))
        _ = try store.delete("key-1149")
        model.delete(b("key-1149"))
        try store.put("key-2000", "new")
        model.put(b("key-2000"), b("new"))
        guard case .success(let index) = SnapshotFormat.decodeIndex(Disk.read(dir.store + "/snapshot-1.idx"))
        else {
            Issue.record("no index")
            return (model, SnapshotFormat.Index(number: 0, keyCount: 0, dataSize: 0, blocks: []))
        }
        #expect(index.blocks.count >= 3)
        #expect(try store.scan() == model.all)
        return (model, index)
    }

    @Test func aDamagedSnapshotBlockLosesOnlyItsKeys() throws {
        try withTemporaryDirectory("repairblock") { dir in
            let (model, index) = try Self.compactedStore(dir)
            let block = index.blocks[1]
            let dataPath = dir.store + "/snapshot-1.dat"
            Disk.flip(dataPath, at: Int(block.offset) + 40, mask: 0x01)
            let damaged = Disk.read(dataPath)

            let report = try Store.repair(path: dir.store)
            #expect(report.repaired)
            #expect(
                report.problems == [
                    "snapshot-1.dat at offset \(block.offset): block 2 of \(index.blocks.count) is damaged; "
                        + "its \(block.count) keys are lost"
                ])
            #expect(
                report.droppedBlocks == [
                    RepairReport.DroppedBlock(
                        offset: block.offset, bytes: UInt64(8 + block.length), keys: UInt64(block.count),
                        after: index.blocks[0].lastKey, through: block.lastKey)
                ])
            #expect(report.droppedBytes == UInt64(8 + block.length))
            #expect(report.keptBlocks == index.blocks.count - 1)
            #expect(report.keptSnapshotKeys == index.keyCount - UInt64(block.count))
            #expect(report.keptRecords == 3 && report.droppedRecords == 0 && report.droppedKeys == [])
            #expect(Disk.read(Self.backup(report) + "/snapshot-1.dat") == damaged)
            #expect(
                Self.names(Self.backup(report)) == [
                    "MANIFEST", "log-2.wal", "snapshot-1.dat", "snapshot-1.idx",
                ])

            // Exactly the keys of the damaged block are gone.
            var expected = model
            for pair in model.all
            where keyLess(index.blocks[0].lastKey, pair.key) && !keyLess(block.lastKey, pair.key) {
                expected.delete(pair.key)
            }
            #expect(expected.count == model.count - Int(block.count))
            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == expected.all)
            #expect(report.keys == expected.count)
            _ = try repaired.verify()
            repaired.close()
        }
    }

    @Test func aDamagedIndexIsRebuiltFromTheDataBlocks() throws {
        try withTemporaryDirectory("repairindex") { dir in
            let (model, index) = try Self.compactedStore(dir)
            Disk.flip(dir.store + "/snapshot-1.idx", at: 70)
            let report = try Store.repair(path: dir.store)
            #expect(report.repaired)
            #expect(
                report.problems == [
                    "snapshot-1.idx at offset 56: index checksum mismatch; rebuilt from the data blocks"
                ])
            #expect(report.droppedBlocks == [] && report.droppedBytes == 0 && report.droppedRecords == 0)
            #expect(report.keptBlocks == index.blocks.count && report.keptSnapshotKeys == index.keyCount)
            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == model.all)
            repaired.close()
        }
    }

    /// Index and a block damaged: the walk over the data file skips to the next whole block.
    @Test func aDamagedIndexAndBlockDropOnlyTheUnreadableBytes() throws {
        try withTemporaryDirectory("repairboth") { dir in
            let (model, index) = try Self.compactedStore(dir)
            Disk.flip(dir.store + "/snapshot-1.idx", at: 3)
            let block = index.blocks[1]
            Disk.flip(dir.store + "/snapshot-1.dat", at: Int(block.offset) + 1)  // its length field
            let report = try Store.repair(path: dir.store)
            #expect(
                report.problems == [
                    "snapshot-1.idx at offset 0: invalid index header; rebuilt from the data blocks",
                    "snapshot-1.dat at offset \(block.offset): \(8 + block.length) unreadable bytes; their keys are lost",
                ])
            #expect(
                report.droppedBlocks == [
                    RepairReport.DroppedBlock(
                        offset: block.offset, bytes: UInt64(8 + block.length), keys: nil,
                        after: index.blocks[0].lastKey, through: nil)
                ])
            var expected = model
            for pair in model.all
            where keyLess(index.blocks[0].lastKey, pair.key) && !keyLess(block.lastKey, pair.key) {
                expected.delete(pair.key)
            }
            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == expected.all)
            repaired.close()
        }
    }

    @Test func aDamagedManifestIsRebuiltFromTheFiles() throws {
        try withTemporaryDirectory("repairmanifest") { dir in
            let (model, _) = try Self.compactedStore(dir)
            Disk.flip(dir.store + "/MANIFEST", at: 20)
            #expect(throws: LogbookError.self) { _ = try Store(path: dir.store) }
            let report = try Store.repair(path: dir.store)
            #expect(
                report.problems == [
                    "MANIFEST at offset 0: invalid (bad size, magic or checksum); rebuilt from the files present"
                ])
            #expect(report.keptRecords == 3 && report.droppedRecords == 0 && report.droppedBytes == 0)
            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == model.all)
            #expect(try repaired.stats().lastSequence == 4)
            repaired.close()
        }
    }

    // A file of the store deleted: open refuses the store with an error that names the file;
    // repair rebuilds what the other files hold, reports the rest lost, and leaves a store that
    // verifies and takes commits.

    /// The repaired store holds `expected`, verifies, and takes a commit.
    static func expectUsable(
        _ dir: TemporaryDirectory, _ expected: [KeyValue], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let repaired = try Store(path: dir.store)
        defer { repaired.close() }
        #expect(try repaired.scan() == expected, sourceLocation: sourceLocation)
        _ = try repaired.verify()
        try repaired.put("after", "repair")
        #expect(try repaired.string("after") == "repair", sourceLocation: sourceLocation)
    }

    /// Opening the store fails with an error that names `file`.
    static func expectOpenFails(
        _ dir: TemporaryDirectory, naming file: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: LogbookError.self, sourceLocation: sourceLocation) {
            _ = try Store(path: dir.store)
        }
        #expect(
            error?.message.contains(file) == true || error?.path?.hasSuffix(file) == true,
            "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    @Test func aMissingIndexIsRebuiltFromTheDataBlocks() throws {
        try withTemporaryDirectory("repairnoindex") { dir in
            let (model, index) = try Self.compactedStore(dir)
            Disk.removeTree(dir.store + "/snapshot-1.idx")
            Self.expectOpenFails(dir, naming: "snapshot-1.idx")
            let report = try Store.repair(path: dir.store)
            #expect(report.repaired)
            #expect(report.problems == ["snapshot-1.idx is missing; rebuilt from the data blocks"])
            #expect(report.droppedBlocks == [] && report.droppedBytes == 0 && report.droppedRecords == 0)
            #expect(report.keptBlocks == index.blocks.count && report.keptSnapshotKeys == index.keyCount)
            try Self.expectUsable(dir, model.all)
        }
    }

    /// Without its data file a snapshot's keys are gone; the log's records on top are kept.
    @Test func aMissingDataFileLosesTheSnapshotsKeysAndKeepsTheLog() throws {
        try withTemporaryDirectory("repairnodata") { dir in
            let (_, index) = try Self.compactedStore(dir)
            Disk.removeTree(dir.store + "/snapshot-1.dat")
            Self.expectOpenFails(dir, naming: "snapshot-1.dat")
            let report = try Store.repair(path: dir.store)
            #expect(report.repaired)
            #expect(report.problems == ["snapshot-1.dat is missing; its keys are lost"])
            #expect(
                report.droppedBlocks == [
                    RepairReport.DroppedBlock(
                        offset: 0, bytes: index.dataSize, keys: index.keyCount, after: nil, through: nil)
                ])
            #expect(report.droppedBytes == index.dataSize)
            #expect(report.keptBlocks == 0 && report.keptSnapshotKeys == 0)
            #expect(report.keptRecords == 3 && report.droppedRecords == 0)
            try Self.expectUsable(
                dir,
                [KeyValue(key: b("key-1000"), value: b("rewritten")), KeyValue(key: b("key-2000"), value: b("new"))])
        }
    }

    @Test func aMissingManifestOfACompactedStoreIsRebuiltFromTheFiles() throws {
        try withTemporaryDirectory("repairnomanifest") { dir in
            let (model, index) = try Self.compactedStore(dir)
            Disk.removeTree(dir.store + "/MANIFEST")
            let files = Self.names(dir.store)
            for attempt in [{ _ = try Store(path: dir.store) }, { _ = try Store.get(b("key-1000"), at: dir.store) }] {
                let error = #expect(throws: LogbookError.self) { try attempt() }
                #expect(error?.code == .corrupted && error?.path == dir.store + "/MANIFEST")
                #expect(
                    error?.message
                        == "MANIFEST is missing from \(dir.store), but the store was compacted (it holds log-2.wal, "
                        + "snapshot-1.dat, snapshot-1.idx); `logbook repair` rebuilds it from them")
            }
            #expect(Self.names(dir.store) == files, "an open that refuses the store deletes nothing")
            let report = try Store.repair(path: dir.store)
            #expect(report.repaired)
            #expect(
                report.problems == [
                    "MANIFEST is missing, but the store was compacted (it holds log-2.wal, snapshot-1.dat, "
                        + "snapshot-1.idx); rebuilt from the files present"
                ])
            #expect(report.keptBlocks == index.blocks.count && report.keptRecords == 3 && report.droppedRecords == 0)
            try Self.expectUsable(dir, model.all)
        }
    }

    /// A compaction that died before it deleted `log-1.wal`, and then the MANIFEST lost: the
    /// first segment is no sign of a store never compacted. Read alone it is an old state (and
    /// the open would delete the newer files as leftovers); repair rebuilds from all of them.
    @Test func aMissingManifestBesideTheFirstSegmentIsStillACompactedStore() throws {
        try withTemporaryDirectory("repairfirstlog") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            try store.put("a", "1")
            try store.put("b", "2")
            let firstLog = Disk.content(dir.log)  // as the seal leaves it: no zeros allocated ahead
            try store.compact()
            try store.put("a", "3")
            try store.put("c", "4")
            let expected = try store.scan()
            store.close()
            Disk.write(dir.log, firstLog)
            Disk.removeTree(dir.store + "/MANIFEST")
            Self.expectOpenFails(dir, naming: "MANIFEST")
            let report = try Store.repair(path: dir.store)
            #expect(report.problems.count == 1, "\(report.problems)")
            #expect(report.problems.first?.hasPrefix("MANIFEST is missing, but the store was compacted") == true)
            #expect(report.droppedRecords == 0 && report.droppedBlocks == [])
            try Self.expectUsable(dir, expected)
        }
    }

    /// The sealed segment of two deleted: the active one after it is dropped too (a log cannot be
    /// applied across a hole), its records counted and their keys named.
    @Test func aMissingSealedSegmentDropsTheSegmentsAfterIt() throws {
        try withTemporaryDirectory("repairnosegment") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: relaxed().with(layer))
            try store.put("a", "1")
            try store.compact()
            let kept = try store.scan()
            try store.put("b", "2")
            try store.compactOnlyToItsSeal(through: layer, snapshot: 2)  // sealed log-2, log-3 active
            try store.put("c", "3")
            try store.put("d", "4")
            store.close()
            Disk.removeTree(dir.store + "/log-2.wal")
            Self.expectOpenFails(dir, naming: "log-2.wal")
            let report = try Store.repair(path: dir.store)
            #expect(report.repaired)
            #expect(report.problems == ["log-2.wal is missing; it and the segments after it are dropped"])
            #expect(report.keptRecords == 0 && report.droppedRecords == 2)
            #expect(report.droppedKeys == ["c", "d"].map(b), "the missing segment's key b is unknown")
            try Self.expectUsable(dir, kept)
        }
    }

    /// The sealed segment of two is damaged: the active segment after it is dropped too (a log
    /// cannot be applied across a hole), and the intact records in both are counted.
    @Test func damageInASealedSegmentDropsTheSegmentsAfterIt() throws {
        try withTemporaryDirectory("repairsealed") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: relaxed().with(layer))
            try store.put("a", "1")
            try store.compact()
            try store.put("b", "2")
            let damageAt = Disk.size(dir.store + "/log-2.wal")
            try store.put("c", "3")
            let kept = try store.scan()
            try store.put("d", "4")
            try store.compactOnlyToItsSeal(through: layer, snapshot: 2)  // sealed log-2, log-3 active
            try store.put("e", "5")
            try store.put("f", "6")
            store.close()
            Disk.flip(dir.store + "/log-2.wal", at: damageAt + 20, mask: 0x02)
            let report = try Store.repair(path: dir.store)
            #expect(report.problems.count == 1)
            #expect(
                report.problems.first?.hasPrefix(
                    "log-2.wal at offset \(damageAt) (record 2 of the segment): checksum mismatch; a valid record follows"
                ) == true, "\(report.problems)")
            #expect(report.keptRecords == 1 && report.droppedRecords == 4)
            #expect(report.droppedKeys == ["d", "e", "f"].map(b), "the damaged record's key c is unreadable")
            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == kept.filter { $0.key != b("c") })
            #expect(try repaired.stats().lastSequence == 2)
            repaired.close()
        }
    }

    /// A sealed segment that ends in zeros lost its last records (the seal cuts the zeros a
    /// writer allocated ahead off): repair keeps its records and drops the segments after it.
    @Test func zerosAtTheEndOfASealedSegmentDropTheSegmentsAfterIt() throws {
        try withTemporaryDirectory("repairzeros") { dir in
            let layer = ProbeFileLayer()
            let store = try Store(path: dir.store, options: StoreOptions(durability: .normal).with(layer))
            try store.put("a", "1")
            try store.compact()
            try store.put("b", "2")
            let kept = try store.scan()
            try store.compactOnlyToItsSeal(through: layer, snapshot: 2)  // sealed log-2, log-3 active
            try store.put("c", "3")
            store.close()
            let sealed = dir.store + "/log-2.wal"
            let end = Disk.size(sealed)
            #expect(end == Disk.contentEnd(sealed), "the seal cut the zeros allocated ahead off")
            Disk.write(sealed, Disk.read(sealed) + [UInt8](repeating: 0, count: 64))
            let report = try Store.repair(path: dir.store)
            #expect(
                report.problems == [
                    "log-2.wal at offset \(end): sealed log segment ends in 64 zero bytes after its last record; "
                        + "the segments after it are dropped"
                ])
            #expect(report.droppedKeys == [b("c")])
            let repaired = try Store(path: dir.store)
            #expect(try repaired.scan() == kept)
            repaired.close()
        }
    }

    /// Repair waits for the writer lock and gives up after the time-out, changing nothing.
    @Test func repairTakesTheWriterLock() throws {
        try withTemporaryDirectory("repairlock") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            defer { store.close() }
            try store.put("a", "1")
            let error = try store.withWriterLockHeld {
                #expect(throws: LogbookError.self) {
                    try Store.repair(path: dir.store, options: StoreOptions(lockTimeout: 0.05))
                }
            }
            #expect(error?.code == .lockTimeout)
        }
    }

    /// A handle open during the repair reloads the repaired files at its next operation.
    @Test func anOpenHandleSeesTheRepairedStore() throws {
        try withTemporaryDirectory("repairopen") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            defer { store.close() }
            let history = try SampleHistory.commit(to: store)
            #expect(try store.scan() == history.states[6])
            Disk.flip(dir.log, at: history.starts[3] + 10)
            let report = try Store.repair(path: dir.store)
            #expect(report.keptRecords == 3 && report.droppedRecords == 3)
            #expect(try store.scan() == history.states[3])
            try store.put("after", "repair")
            #expect(try store.stats().lastSequence == 4)
            _ = try store.verify()
        }
    }

    @Test func timestamps() {
        #expect(Store.timestamp(0) == "19700101-000000")
        #expect(Store.timestamp(951_782_400) == "20000229-000000")
        #expect(Store.timestamp(1_764_164_701) == "20251126-134501")
    }
}
