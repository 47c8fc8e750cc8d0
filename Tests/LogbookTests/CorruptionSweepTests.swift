// A corruption sweep over every file of a small store that has a snapshot and log records in two
// segments (MANIFEST, snapshot-1.idx, snapshot-1.dat, sealed log-2.wal, active log-3.wal; LOCK
// holds no data and is exempt): one bit flipped at every byte offset in turn. Opening, reading
// every key, `verify()` and the offline `Store.verify(path:)` must each report corruption naming
// the damaged file, or return exactly the right data; never wrong data, never a crash. The one
// documented exception: damage confined to the last record of the active segment cannot be told
// from a torn write, so that record is dropped (the state before it is returned; verify reports
// a torn tail). Each file deleted in turn is reported the same way, and nothing else is touched.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CorruptionSweepTests {
    /// The files of the store the sweep damages, and what it must hold.
    struct Fixture {
        var directory: String
        /// `states[i]`: the store after its i-th commit; the last is the whole store.
        var states: [[KeyValue]]
        /// Where the last record of the active segment starts.
        var lastRecord: Int
        /// The keys each commit wrote, by sequence number (the four before the snapshot too).
        static let written: [UInt64: [String]] = [
            5: ["key-3"], 6: ["key-4"], 7: ["new-1", "key-5"], 8: ["key-6"], 9: ["new-2"],
            10: ["key-7", "new-3"],
        ]
        static let snapshotSequence: UInt64 = 4
        static let files = ["MANIFEST", "snapshot-1.idx", "snapshot-1.dat", "log-2.wal", "log-3.wal"]
    }

    /// 40 keys in four transactions, compacted (snapshot 1, segment 2); three commits; a compaction
    /// that fails after sealing (segment 3 becomes active, segment 2 stays, sealed); three more.
    static func makeStore(_ directory: String) throws -> Fixture {
        let layer = ProbeFileLayer()
        let store = try Store(
            path: directory, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil).with(layer)
        )
        defer { store.close() }
        var states: [[KeyValue]] = []
        for t in 0..<4 {
            try store.write { tx in
                for i in (t * 10)..<(t * 10 + 10) { try tx.put(b("key-\(i)"), b("value-\(i * 7919 % 1000)")) }
            }
            states.append(try store.scan())
        }
        try store.compact()
        try store.put("key-3", "rewritten")
        states.append(try store.scan())
        try store.delete("key-4")
        states.append(try store.scan())
        try store.write { tx in
            try tx.put("new-1", "one")
            try tx.delete("key-5")
        }
        states.append(try store.scan())
        try store.compactOnlyToItsSeal(through: layer, snapshot: 2)  // sealed log-2, log-3 active
        try store.put("key-6", "")
        states.append(try store.scan())
        try store.put("new-2", "two")
        states.append(try store.scan())
        let lastRecord = Disk.size(directory + "/log-3.wal")
        try store.write { tx in
            try tx.delete("key-7")
            try tx.put("new-3", "three")
        }
        states.append(try store.scan())
        let names = try PosixFileLayer().listDirectory(directory)
        #expect(names == ["LOCK"] + Fixture.files.sorted(), "\(names)")
        return Fixture(directory: directory, states: states, lastRecord: lastRecord)
    }

    /// After the same flips, `Store.repair` leaves a store that opens, verifies and holds exactly
    /// the state after its last kept commit, less the keys of the snapshot blocks it reports
    /// dropped (unless a kept commit wrote them again); what it reports matches.
    @Test(arguments: Fixture.files)
    func repairAfterABitFlipAtEveryOffset(_ file: String) throws {
        try withTemporaryDirectory("sweeprepair", inMemory: true) { dir in
            let pristine = dir.path + "/pristine"
            let fixture = try Self.makeStore(pristine)
            let names = try PosixFileLayer().listDirectory(pristine)
            let original = Disk.read(pristine + "/" + file)
            var repaired = 0
            for offset in 0..<original.count {
                Disk.removeTree(dir.store)
                Disk.makeDirectory(dir.store)
                for name in names { Disk.write(dir.store + "/" + name, Disk.read(pristine + "/" + name)) }
                var damaged = original
                damaged[offset] ^= UInt8(1) << UInt8(offset % 8)
                Disk.write(dir.store + "/" + file, damaged)
                let context = "\(file) byte \(offset)"
                do {
                    let report = try Store.repair(path: dir.store)
                    if report.repaired { repaired += 1 }
                    let store = try Store(path: dir.store, options: StoreOptions(durability: .relaxed))
                    defer { store.close() }
                    _ = try store.verify()
                    let last = report.lastSequence
                    #expect(try store.stats().lastSequence == last, "\(context)")
                    #expect(last >= Fixture.snapshotSequence && last <= 10, "\(context)")
                    let rewritten = Set(
                        (Fixture.snapshotSequence + 1..<last + 1).flatMap { Fixture.written[$0] ?? [] }.map(b)
                    )
                    func lost(_ key: [UInt8]) -> Bool {
                        !rewritten.contains(key)
                            && report.droppedBlocks.contains { block in
                                (block.after.map { keyLess($0, key) } ?? true)
                                    && (block.through.map { !keyLess($0, key) } ?? true)
                            }
                    }
                    let expected = fixture.states[Int(last) - 1].filter { !lost($0.key) }
                    #expect(try store.scan() == expected, "\(context): \(report.problems)")
                    #expect(report.keys == expected.count, "\(context)")
                    #expect(report.repaired == !report.problems.isEmpty, "\(context)")
                } catch {
                    Issue.record("\(context): \(error)")
                }
            }
            let torn = file == "log-3.wal" ? original.count - fixture.lastRecord : 0
            #expect(repaired == original.count - torn)
        }
    }

    @Test(arguments: Fixture.files)
    func bitFlipAtEveryOffset(_ file: String) throws {
        try withTemporaryDirectory("sweep", inMemory: true) { dir in
            let fixture = try Self.makeStore(dir.store)
            let path = dir.store + "/" + file
            let original = Disk.read(path)
            let whole = fixture.states.last!
            let previous = fixture.states[fixture.states.count - 2]
            var reported = 0
            var tornTails = 0
            for offset in 0..<original.count {
                var damaged = original
                damaged[offset] ^= UInt8(1) << UInt8(offset % 8)
                Disk.write(path, damaged)
                let context = "\(file) byte \(offset)"
                // Damage in the active segment's last record reads as a torn tail.
                let torn = file == "log-3.wal" && offset >= fixture.lastRecord
                func expectCorruption(_ error: any Error, _ what: String) {
                    let error = error as? LogbookError
                    #expect(error?.code == .corrupted, "\(context), \(what): \(String(describing: error))")
                    #expect(error?.path == path, "\(context), \(what): reported \(String(describing: error))")
                }

                do {
                    let report = try Store.verify(path: dir.store)
                    #expect(torn, "\(context): offline verify missed it")
                    #expect(report.tornTail?.offset == UInt64(fixture.lastRecord), "\(context)")
                } catch { expectCorruption(error, "offline verify") }

                let store: Store
                do {
                    store = try Store(path: dir.store, options: StoreOptions(durability: .relaxed))
                } catch {
                    expectCorruption(error, "open")
                    reported += 1
                    continue
                }
                defer { store.close() }
                do {
                    let found = try store.scan()
                    #expect(found == (torn ? previous : whole), "\(context): wrong data")
                    for pair in whole {
                        let value = try store.get(pair.key)
                        #expect(
                            value == (torn ? previous.first { $0.key == pair.key }?.value : pair.value),
                            "\(context)")
                    }
                } catch { expectCorruption(error, "read") }
                do {
                    let report = try store.verify()
                    #expect(torn, "\(context): verify missed it")
                    #expect(report.tornTail?.offset == UInt64(fixture.lastRecord), "\(context)")
                    tornTails += 1
                } catch {
                    expectCorruption(error, "verify")
                    reported += 1
                }
            }
            let tornBytes = file == "log-3.wal" ? original.count - fixture.lastRecord : 0
            #expect(tornTails == tornBytes)
            #expect(reported == original.count - tornBytes)
            Disk.write(path, original)
            let store = try Store(path: dir.store, options: StoreOptions(durability: .relaxed))
            #expect(try store.scan() == whole)
            #expect(try store.verify().records == 6)
            store.close()
        }
    }

    /// Each file of the store deleted in turn (by hand, or lost with a disk): opening, the
    /// one-shot get and the offline verify each refuse the store with an error that names the
    /// missing file, and leave the directory as they found it: nothing deleted as a leftover,
    /// nothing created. Then `Store.repair` keeps what the other files hold: all of it when
    /// the MANIFEST or the index is gone (rebuilt), the log's commits without the snapshot's
    /// keys when its data file is, and the commits before a missing segment.
    @Test(arguments: Fixture.files)
    func aDeletedFileIsReportedAndNothingElseIsTouched(_ file: String) throws {
        try withTemporaryDirectory("sweepdelete", inMemory: true) { dir in
            let fixture = try Self.makeStore(dir.store)
            let whole = fixture.states.last!
            let written = Set(Fixture.written.values.joined().map(b))
            let expected: [KeyValue] =
                switch file {
                case "snapshot-1.dat": whole.filter { written.contains($0.key) }
                case "log-2.wal": fixture.states[3]  // the snapshot alone
                case "log-3.wal": fixture.states[6]  // and the sealed segment's commits
                default: whole
                }
            Disk.removeTree(dir.store + "/" + file)
            let left = try PosixFileLayer().listDirectory(dir.store)
            let attempts: [(String, () throws -> Void)] = [
                ("open", { _ = try Store(path: dir.store) }),
                ("relaxed open", { _ = try Store(path: dir.store, options: StoreOptions(durability: .relaxed)) }),
                ("one-shot get", { _ = try Store.get(b("key-10"), at: dir.store) }),
                ("offline verify", { _ = try Store.verify(path: dir.store) }),
            ]
            for (what, attempt) in attempts {
                let error = #expect(throws: LogbookError.self, "\(file) deleted: \(what)") { try attempt() }
                #expect(
                    error?.message.contains(file) == true || error?.path?.hasSuffix("/" + file) == true,
                    "\(file) deleted, \(what): \(String(describing: error))")
                #expect(try PosixFileLayer().listDirectory(dir.store) == left, "\(file) deleted, \(what)")
            }
            let report = try Store.repair(path: dir.store)
            #expect(report.repaired, "\(file) deleted")
            #expect(report.problems.first?.contains(file) == true, "\(file) deleted: \(report.problems)")
            let repaired = try Store(path: dir.store)
            defer { repaired.close() }
            #expect(try repaired.scan() == expected, "\(file) deleted")
            _ = try repaired.verify()
        }
    }
}
