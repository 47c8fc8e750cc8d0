// getMany on a store and a read transaction: what `get` returns for each key, over every layer
// a value can come from (memtable records, boxed long values, the mapped snapshot, the value
// cache, tombstones, a compaction's frozen layer, a memtable filter that wrongly says yes), in
// the caller's order with repeats; one state for all the keys while other threads commit and
// compact; a damaged block fails the call as it fails a get.

import LogbookTestSupport
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct GetManyTests {
    /// Keys in the snapshot only (many, so that the memtable's filter wrongly says yes for some),
    /// shadowed in the memtable, put after the compaction, deleted after it, never written; in
    /// random order with repeats, in lists of every length around a batch of eight.
    @Test(arguments: [Durability.relaxed, .paranoid])
    func returnsWhatGetReturnsOverEveryLayer(_ durability: Durability) throws {
        try withTemporaryDirectory("getmany") { dir in
            let store = try Store(path: dir.store, options: compactingByHand(durability))
            let sizes = WithValueTests.sizes
            let keys = (0..<3000).map { b("key\($0)") }
            for (i, key) in keys.enumerated() where i < 2960 {
                try store.put(key, WithValueTests.value(i, size: sizes[i % sizes.count], round: 0))
            }
            _ = try store.compact()
            // Shadowed keys across the key space (the memtable's prefix is `key`: its filter decides).
            for (i, key) in keys.enumerated() where (i < 2960 && i % 60 == 5) || (i >= 2960 && i < 2990) {
                try store.put(key, WithValueTests.value(i, size: sizes[(i + 3) % sizes.count], round: 1))
            }
            for key in keys[2950..<2955] + keys[10..<15] { try store.delete(key) }
            let absent = [b(""), b("key"), b("key5x"), b("a"), [0xFF, 0xFF]]
            let view = try store.snapshotView().view
            #expect(view.snapshot != nil && view.memtable.count > 0 && view.tombstones.count == 10)
            // Snapshot keys the memtable's filter lets through: they take the look-up alone.
            let wronglyLetThrough = keys.filter { view.memtable.startLookUp($0) != nil && view.memtable.get($0) == nil }
            #expect(try wronglyLetThrough.filter { try store.get($0) != nil }.count > 5)

            var random = SeededGenerator(seed: 51)
            var probes = (keys + absent + keys.prefix(100)).shuffled(using: &random)
            probes += wronglyLetThrough
            let expected = try probes.map { try store.get($0) }
            #expect(try store.getMany(probes) == expected)
            #expect(try store.getMany(probes) == expected)  // paranoid: value cache hits now
            #expect(try store.read { try $0.getMany(probes) } == expected)
            if durability == .paranoid {
                // Snapshot values come from the value cache, as `get`'s do (a hit skips checking
                // the block again): the snapshot-only keys are warm by now.
                let before = try store.stats().cacheHits
                _ = try store.getMany(Array(keys[20..<40]))
                #expect(try store.stats().cacheHits == before + 20)
            }
            for length in [0, 1, 7, 8, 9, 16, 17] {
                let some = Array(probes.suffix(length))
                #expect(try store.getMany(some) == Array(expected.suffix(length)), "\(length) keys")
            }

            // A compaction's frozen layer between the memtable and the snapshot.
            var frozen = view
            _ = frozen.freeze()
            frozen.apply(LogRecord(sequence: 10_000, mutations: [.put(key: keys[0], value: b("after the seal"))]))
            let frozenKeys = [keys[0], keys[2945], keys[20], keys[2951], keys[2995], keys[2965]]
            #expect(try frozen.values(frozenKeys) == frozenKeys.map { try frozen.value($0) })
            #expect(try frozen.values(frozenKeys)[0] == b("after the seal"))
            store.close()
            #expect(throws: LogbookError.self) { try store.getMany([keys[0]]) }
        }
    }

    /// In `write { }`: the transaction's own puts and deletes first, the rest from its
    /// snapshot; every key it read from the snapshot counts as read (another handle's commit of
    /// one before the transaction's makes the closure run again, as after a get).
    @Test func inAWriteTransactionSeesItsOwnWritesAndCountsEachKeyAsRead() throws {
        try withTemporaryDirectory("getmanywrite") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            defer { store.close() }
            let other = try Store(path: dir.store, options: relaxed())
            defer { other.close() }
            let keys = (0..<30).map { b("k\($0)") }
            for key in keys { try store.put(key, b("snapshot")) }
            try store.put("k", "0")
            try store.write { tx in
                try tx.put(keys[3], b("pending"))
                try tx.delete(keys[4])
                try tx.put(b("new"), b("fresh"))
                let probes = keys + [b("new"), b("never"), keys[3]]
                let expected = try probes.map { try tx.get($0) }
                #expect(try tx.getMany(probes) == expected)
                #expect(expected[3] == b("pending") && expected[32] == b("pending") && expected[4] == nil)
                #expect(expected[0] == b("snapshot") && expected[30] == b("fresh") && expected[31] == nil)
            }
            try expectRerunAfterAConflict(store, other) { tx in
                let values = try tx.getMany([keys[0], b("k"), keys[1]])
                return Int(String(decoding: values[1] ?? b("0"), as: UTF8.self)) ?? 0
            }
        }
    }

    /// A commit of another handle, acknowledged before the call, is seen.
    @Test func seesAnotherHandlesCommits() throws {
        try withTemporaryDirectory("getmanyfresh") { dir in
            let first = try Store(path: dir.store, options: relaxed())
            defer { first.close() }
            let second = try Store(path: dir.store, options: relaxed())
            defer { second.close() }
            let keys = (0..<20).map { b("k\($0)") }
            for round in 0..<3 {
                for key in keys where key != keys[round] { try second.put(key, b("round \(round)")) }
                try second.delete(keys[round])
                let values = try first.getMany(keys)
                #expect(values[round] == nil)
                #expect(values.enumerated().allSatisfy { $0.offset == round || $0.element == b("round \(round)") })
                if round == 1 { try second.compact() }
            }
        }
    }

    /// Threads read every key at once while one commits all of them in each transaction and
    /// another compacts: each call returns one round's values for all the keys.
    @Test func readsOneStateWhileOthersCommitAndCompact() throws {
        try withTemporaryDirectory("getmanythreads") { dir in
            let store = try Store(path: dir.store, options: relaxed { $0.autoCompactLogBytes = nil })
            defer { store.close() }
            let keys = (0..<200).map { b("shared/\($0)") }
            try store.write { tx in for key in keys { try tx.put(key, b("0")) } }
            let errors = runOnThreads(4) { thread in
                switch thread {
                case 0:
                    for round in 1...150 {
                        try store.write { tx in for key in keys { try tx.put(key, b("\(round)")) } }
                    }
                case 1:
                    for _ in 0..<8 { _ = try store.compact() }
                default:
                    for pass in 0..<150 {
                        let values = try pass % 2 == 0 ? store.getMany(keys) : store.read { try $0.getMany(keys) }
                        guard let first = values[0], values.allSatisfy({ $0 == first }) else {
                            throw ThreadCheckFailure(description: "pass \(pass): the keys hold different rounds")
                        }
                    }
                }
            }
            #expect(errors.isEmpty, "\(errors)")
        }
    }

    /// A key in a damaged snapshot block fails the whole call with `corrupted`, as its get
    /// fails; keys elsewhere still read.
    @Test func aDamagedBlockFailsTheCallAsItFailsAGet() throws {
        try withTemporaryDirectory("getmanydamage") { dir in
            let options = relaxed { $0.autoCompactLogBytes = nil }
            var store = try Store(path: dir.store, options: options)
            let keys = (0..<400).map { b("k\(1000 + $0)") }
            for key in keys { try store.put(key, [UInt8](repeating: 7, count: 100)) }
            let report = try store.compact()
            store.close()
            // A byte of block 0's payload (the smallest keys) flipped.
            let data = dir.store + "/" + SnapshotFormat.dataName(report.snapshot)
            var bytes = Disk.read(data)
            bytes[SnapshotFormat.dataHeaderSize + SnapshotFormat.blockHeaderSize + 40] ^= 0x10
            Disk.write(data, bytes)

            store = try Store(path: dir.store, options: options)
            defer { store.close() }
            #expect(try store.getMany(Array(keys.suffix(20))).allSatisfy { $0 != nil })
            for probe in [[keys[0]], Array(keys.suffix(20)) + [keys[1]]] {
                do {
                    _ = try store.getMany(probe)
                    Issue.record("getMany of a key in the damaged block succeeded")
                } catch let error as LogbookError {
                    #expect(error.code == .corrupted)
                    #expect(error.path == data)
                }
            }
            #expect(throws: LogbookError.self) { try store.get(keys[0]) }
        }
    }
}
