// withValue on a store, a read transaction and a write transaction: the value `get` returns,
// lent in place, over every layer a value can come from (memtable records, boxed long values,
// the mapped snapshot, the value cache in paranoid mode, a compaction's frozen layer, a
// transaction's own writes), after another handle's commits, and while other threads commit
// and compact under the reader.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct WithValueTests {
    /// What `withValue` lends for `key`, copied (nil when absent), and how often `body` ran.
    static func lent(
        _ key: [UInt8], _ withValue: ([UInt8], (UnsafeRawBufferPointer?) throws -> [UInt8]?) throws -> [UInt8]?
    )
        rethrows -> (value: [UInt8]?, calls: Int)
    {
        var calls = 0
        let value = try withValue(key) { bytes in
            calls += 1
            return bytes.map { [UInt8]($0) }
        }
        return (value, calls)
    }

    /// Sizes on both sides of the memtable's inline limit and of the snapshot's cached minimum.
    static let sizes = [0, 1, 100, 512, 513, 1536, SnapshotReader.cachedValueMinimum + 10]

    static func value(_ i: Int, size: Int, round: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7 &+ round) }
    }

    /// Keys in the snapshot only, shadowed in the memtable, put after the compaction, deleted
    /// after it, never written; then the same through a frozen layer. `withValue` lends exactly
    /// what `get` returns, once per call.
    @Test(arguments: [Durability.relaxed, .paranoid])
    func lendsWhatGetReturnsOverEveryLayer(_ durability: Durability) throws {
        try withTemporaryDirectory("withvalue") { dir in
            let store = try Store(path: dir.store, options: compactingByHand(durability))
            let keys = (0..<60).map { b("key\($0)") }
            for (i, key) in keys.enumerated() where i < 40 {
                try store.put(key, Self.value(i, size: Self.sizes[i % Self.sizes.count], round: 0))
            }
            _ = try store.compact()
            for (i, key) in keys.enumerated() where i >= 20 && i < 50 {
                try store.put(key, Self.value(i, size: Self.sizes[(i + 3) % Self.sizes.count], round: 1))
            }
            for key in keys[30..<35] { try store.delete(key) }
            let absent = [b(""), b("key"), b("key5x"), [0xFF, 0xFF]]
            let view = try store.snapshotView().view
            #expect(view.snapshot != nil && view.memtable.count > 0 && view.tombstones.count == 5)

            func checkAll(
                _ name: String, _ withValue: ([UInt8], (UnsafeRawBufferPointer?) throws -> [UInt8]?) throws -> [UInt8]?
            ) throws {
                var present = 0
                for key in keys + absent {
                    let expected = try store.get(key)
                    let (value, calls) = try Self.lent(key, withValue)
                    #expect(value == expected, "\(name): \(String(decoding: key, as: UTF8.self))")
                    #expect(calls == 1, "\(name): body ran \(calls) times")
                    if expected != nil { present += 1 }
                }
                #expect(present == 45, "\(name)")  // 0..<30 and 35..<50
            }
            try checkAll("store") { try store.withValue($0, $1) }
            try checkAll("store again") { try store.withValue($0, $1) }  // paranoid: cache hits now
            try store.read { rtx in try checkAll("read") { try rtx.withValue($0, $1) } }
            if durability == .paranoid {
                // Snapshot values go through the value cache, as `get`'s do (a hit skips checking
                // the block again): the 20 keys only the snapshot holds are warm by now.
                let before = try store.stats().cacheHits
                for key in keys[0..<20] { _ = try store.withValue(key) { $0?.count } }
                #expect(try store.stats().cacheHits == before + 20)
            }

            // A compaction's frozen layer between the memtable and the snapshot.
            var frozen = view
            _ = frozen.freeze()
            frozen.apply(LogRecord(sequence: 10_000, mutations: [.put(key: keys[0], value: b("after the seal"))]))
            #expect(try Self.lent(keys[0]) { try frozen.withValue($0, $1) }.value == b("after the seal"))
            #expect(try Self.lent(keys[25]) { try frozen.withValue($0, $1) }.value == store.get(keys[25]))
            #expect(try Self.lent(keys[10]) { try frozen.withValue($0, $1) }.value == store.get(keys[10]))
            #expect(try Self.lent(keys[31]) { try frozen.withValue($0, $1) }.value == nil)
            #expect(try Self.lent(keys[55]) { try frozen.withValue($0, $1) }.value == nil)
            store.close()
            #expect(throws: LogbookError.self) { try store.withValue(keys[0]) { _ in 0 } }
        }
    }

    /// The body's result and its error come back out; an absent key lends nil.
    @Test func passesResultsAndErrorsThrough() throws {
        struct Refused: Error {}
        try withTemporaryDirectory("withvalueerrors") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            try store.put("a", "alpha")
            #expect(try store.withValue(b("a")) { $0?.count } == 5)
            #expect(try store.withValue(b("b")) { $0?.count } == nil)
            #expect(try store.withValue(b("b")) { $0 == nil })
            #expect(throws: Refused.self) { try store.withValue(b("a")) { _ in throw Refused() } }
            _ = try store.compact()
            #expect(throws: Refused.self) { try store.withValue(b("a")) { _ in throw Refused() } }
            #expect(try store.withValue(b("a")) { String(decoding: $0!, as: UTF8.self) } == "alpha")
            store.close()
        }
    }

    /// In `write { }`: the transaction's own puts and deletes first, then its snapshot; a key
    /// read through `withValue` that another handle changes before the commit makes the
    /// closure run again, as one read through `get` does (also when the body threw and the
    /// closure caught it), so no update is lost.
    @Test func inAWriteTransactionSeesItsOwnWritesAndCountsAsARead() throws {
        struct Refused: Error {}
        try withTemporaryDirectory("withvaluewrite") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try store.put("k", "0")
            try store.put("gone", "x")
            func text(_ bytes: UnsafeRawBufferPointer?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
            try store.write { tx in
                #expect(try tx.withValue(b("k"), text) == "0")
                try tx.put("k", "pending")
                try tx.delete("gone")
                #expect(try tx.withValue(b("k"), text) == "pending")
                #expect(try tx.withValue(b("gone"), text) == nil)
                #expect(try tx.withValue(b("never"), text) == nil)
            }
            for throwing in [false, true] {
                try expectRerunAfterAConflict(store, other) { tx in
                    var value = 0
                    do {
                        try tx.withValue(b("k")) { bytes in
                            value = Int(text(bytes) ?? "0") ?? 0
                            if throwing { throw Refused() }
                        }
                    } catch is Refused {}
                    return value
                }
                try store.put("k", "0")
            }
            store.close()
            other.close()
        }
    }

    /// Another handle's commits and compactions are seen at once, as by `get`.
    @Test func seesAnotherHandlesCommitsAndCompactions() throws {
        try withTemporaryDirectory("withvaluefresh") { dir in
            let writer = try Store(path: dir.store, options: relaxed())
            let reader = try Store(path: dir.store, options: relaxed())
            func read(_ key: String) throws -> String? {
                try reader.withValue(b(key)) { $0.map { String(decoding: $0, as: UTF8.self) } }
            }
            try writer.put("k", "one")
            #expect(try read("k") == "one")
            try writer.put("k", "two")
            #expect(try read("k") == "two")
            _ = try writer.compact()
            #expect(try read("k") == "two")
            try writer.delete("k")
            #expect(try read("k") == nil)
            try writer.put("k", "three")
            _ = try writer.compact()
            #expect(try read("k") == "three")
            writer.close()
            reader.close()
        }
    }

    /// A value of the threads' test: copies of one byte, the round that wrote it.
    static func shared(_ round: Int, _ key: Int) -> [UInt8] {
        [UInt8](repeating: UInt8(truncatingIfNeeded: round), count: 1 + (key * 37 + round * 11) % 900)
    }

    /// Readers hold lent bytes (and read them slowly) while writers overwrite the same keys
    /// and another thread compacts: every value read is whole, one writer's round and never
    /// freed or reused memory (run under the sanitizers too, see Docs/Testing.md).
    @Test func lentBytesStayWholeWhileOthersWriteAndCompact() throws {
        try withTemporaryDirectory("withvaluethreads") { dir in
            let store = try Store(path: dir.store, options: relaxed { $0.autoCompactLogBytes = nil })
            let keys = (0..<64).map { b("shared\($0)") }
            for (i, key) in keys.enumerated() { try store.put(key, Self.shared(0, i)) }
            let rounds = 150
            let errors = runOnThreads(4) { thread in
                switch thread {
                case 0:
                    for round in 1...rounds {
                        for (i, key) in keys.enumerated() { try store.put(key, Self.shared(round, i)) }
                    }
                case 1:
                    for _ in 0..<8 { _ = try store.compact() }
                default:
                    for pass in 0..<(rounds * 2) {
                        for key in keys {
                            try store.withValue(key) { bytes in
                                guard let bytes, let first = bytes.first else {
                                    throw ThreadCheckFailure(description: "pass \(pass): a value is missing or empty")
                                }
                                var sum = 0
                                for byte in bytes { sum += Int(byte) }
                                try check(sum == Int(first) * bytes.count, "pass \(pass): a value mixes rounds")
                            }
                        }
                    }
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            for (i, key) in keys.enumerated() { #expect(try store.get(key) == Self.shared(rounds, i)) }
            store.close()
        }
    }
}
