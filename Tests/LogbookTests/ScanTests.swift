// ScanOptions semantics, the same through Store.scan, read { } and write { }: prefix
// intersected with start/end, start-inclusive and end-exclusive bounds, limit, reverse, empty
// ranges, and prefixes of 0xFF bytes (which have no successor).

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct ScanTests {
    static let keys: [[UInt8]] = [
        [0x00], b("a"), b("ab"), b("abc"), b("abd"), b("ac"), b("b"), [0xFF], [0xFF, 0x00], [0xFF, 0xFF],
        [0xFF, 0xFF, 0x01],
    ]

    /// The value stored under `key`: its bytes reversed plus a marker, so values are distinct.
    static func value(_ key: [UInt8]) -> [UInt8] { key.reversed() + [0x7C] }

    static func pairs(_ keys: [[UInt8]]) -> [KeyValue] { keys.map { KeyValue(key: $0, value: value($0)) } }

    /// (options, expected keys in the order returned)
    static let cases: [(ScanOptions, [[UInt8]])] = [
        (ScanOptions(), keys),
        (ScanOptions(reverse: true), keys.reversed()),
        (ScanOptions(prefix: []), keys),
        (ScanOptions(prefix: b("ab")), [b("ab"), b("abc"), b("abd")]),
        (ScanOptions(prefix: b("a")), [b("a"), b("ab"), b("abc"), b("abd"), b("ac")]),
        (ScanOptions(prefix: b("a"), limit: 2, reverse: true), [b("ac"), b("abd")]),
        (ScanOptions(prefix: b("ab"), start: b("abc")), [b("abc"), b("abd")]),
        (ScanOptions(prefix: b("ab"), end: b("abd")), [b("ab"), b("abc")]),
        (ScanOptions(prefix: b("ab"), start: b("a")), [b("ab"), b("abc"), b("abd")]),
        (ScanOptions(prefix: b("ab"), end: b("b")), [b("ab"), b("abc"), b("abd")]),
        (ScanOptions(prefix: b("ab"), start: b("ac")), []),
        (ScanOptions(prefix: b("ab"), end: b("ab")), []),
        (ScanOptions(prefix: b("ab"), start: b("abd"), end: b("abc")), []),
        (ScanOptions(prefix: b("abcd")), []),
        (ScanOptions(prefix: b("zz")), []),
        (ScanOptions(prefix: [0x00]), [[0x00]]),
        (
            ScanOptions(start: b("abc")),
            [b("abc"), b("abd"), b("ac"), b("b"), [0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0x01]]
        ),
        (ScanOptions(end: b("ab")), [[0x00], b("a")]),
        (ScanOptions(start: b("ab"), end: b("ac")), [b("ab"), b("abc"), b("abd")]),
        (ScanOptions(start: b("ab"), end: b("ac"), reverse: true), [b("abd"), b("abc"), b("ab")]),
        (ScanOptions(start: b("aa"), end: b("abz")), [b("ab"), b("abc"), b("abd")]),
        (ScanOptions(start: b("b"), end: b("b")), []),
        (ScanOptions(start: b("c"), end: b("b")), []),
        (ScanOptions(start: b("b"), end: b("b\0")), [b("b")]),
        (ScanOptions(limit: 0), []),
        (ScanOptions(limit: -1), []),
        (ScanOptions(limit: 1), [[0x00]]),
        (ScanOptions(limit: 100), keys),
        (ScanOptions(limit: 2, reverse: true), [[0xFF, 0xFF, 0x01], [0xFF, 0xFF]]),
        (ScanOptions(start: b("abc"), limit: 2), [b("abc"), b("abd")]),
        (ScanOptions(end: b("abc"), limit: 2, reverse: true), [b("ab"), b("a")]),
        (ScanOptions(prefix: [0xFF]), [[0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0x01]]),
        (ScanOptions(prefix: [0xFF, 0xFF]), [[0xFF, 0xFF], [0xFF, 0xFF, 0x01]]),
        (ScanOptions(prefix: [0xFF, 0xFF], reverse: true), [[0xFF, 0xFF, 0x01], [0xFF, 0xFF]]),
        (ScanOptions(prefix: [0xFF], end: [0xFF, 0xFF]), [[0xFF], [0xFF, 0x00]]),
        (ScanOptions(prefix: [0xFF], start: [0xFF, 0x01], limit: 1), [[0xFF, 0xFF]]),
        (ScanOptions(prefix: [0xFF, 0xFF, 0xFF]), []),
        (ScanOptions(prefix: [0xFE]), []),
    ]

    @Test func everyCaseReturnsExactlyTheExpectedPairsThroughEveryReader() throws {
        try withTemporaryDirectory("scan") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            for key in Self.keys.shuffled() { try store.put(key, Self.value(key)) }
            for (options, keys) in Self.cases {
                let expected = Self.pairs(keys)
                #expect(try store.scan(options) == expected, "\(options)")
                try store.read { rtx throws in #expect(try rtx.scan(options) == expected, "read: \(options)") }
                try store.write { tx in
                    let scanned = try tx.scan(options)
                    #expect(scanned == expected, "write: \(options)")
                }
            }
            store.close()
        }
    }

    /// Puts every other key (the first with a stale value), and `zzz`, which a later step deletes:
    /// the first half of a key set that the rest, written later, completes.
    static func putHalf(_ store: Store, zzz: String) throws {
        for (index, key) in keys.enumerated() where index % 2 == 0 {
            try store.put(key, index == 0 ? b("stale") : value(key))
        }
        try store.put("zzz", zzz)
    }

    /// The same cases inside a transaction whose own writes produce the same key set from a
    /// different snapshot: half the keys pending, one snapshot key deleted and re-put.
    @Test func everyCaseMergesPendingWritesExactly() throws {
        try withTemporaryDirectory("scantx") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            try Self.putHalf(store, zzz: "deleted in the transaction")
            #expect(throws: RollBack.self) {
                try store.write { tx in
                    for (index, key) in Self.keys.enumerated() where index % 2 == 1 || index == 0 {
                        try tx.put(key, Self.value(key))
                    }
                    try tx.delete("zzz")
                    for (options, keys) in Self.cases {
                        #expect(try tx.scan(options) == Self.pairs(keys), "\(options)")
                    }
                    throw RollBack()
                }
            }
            store.close()
        }
    }

    @Test func emptyStoreAndStringConvenience() throws {
        try withTemporaryDirectory("scanempty") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            #expect(try store.scan() == [])
            #expect(try store.scan(ScanOptions(prefix: [0xFF], reverse: true)) == [])
            try store.put("task/1", "a")
            try store.put("task/2", "b")
            try store.put("tasks", "c")
            #expect(
                try store.scan(prefix: "task/") == [
                    KeyValue(key: b("task/1"), value: b("a")), KeyValue(key: b("task/2"), value: b("b")),
                ])
            #expect(
                try store.scan(prefix: "task/", limit: 1, reverse: true) == [KeyValue(key: b("task/2"), value: b("b"))])
            store.close()
        }
    }

    /// `visit` in the views `scan` reads, its pairs copied out.
    static func visited(
        _ options: ScanOptions,
        _ visit: (ScanOptions, (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws -> Void
    ) rethrows -> [KeyValue] {
        var pairs: [KeyValue] = []
        try visit(options) { key, value in
            pairs.append(KeyValue(key: [UInt8](key), value: [UInt8](value)))
            return true
        }
        return pairs
    }

    /// `visit` hands over what `scan` returns for every case, over every layer a view can have:
    /// a snapshot, a memtable shadowing some of its keys, a tombstone hiding one, and (through
    /// copies, as while a compaction runs) a frozen layer; and inside `read { }`.
    @Test func visitHandsOverWhatScanReturnsOverEveryLayer() throws {
        try withTemporaryDirectory("visit") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            try Self.putHalf(store, zzz: "deleted after the compaction")
            _ = try store.compact()
            for (index, key) in Self.keys.enumerated() where index % 2 == 1 || index == 0 {
                try store.put(key, Self.value(key))
            }
            try store.delete("zzz")
            var frozen = try store.snapshotView().view
            #expect(frozen.snapshot != nil && frozen.memtable.count > 0 && frozen.tombstones.count == 1)
            _ = frozen.freeze()
            frozen.apply(LogRecord(sequence: 1000, mutations: [.put(key: b("b"), value: Self.value(b("b")))]))
            for (options, keys) in Self.cases {
                let expected = Self.pairs(keys)
                #expect(try Self.visited(options, store.visit) == expected, "\(options)")
                try store.read { rtx throws in
                    #expect(try Self.visited(options, rtx.visit) == expected, "read: \(options)")
                }
                #expect(try Self.visited(options) { try Store.visit(frozen, $0, $1) } == expected, "frozen: \(options)")
            }
            store.close()
        }
    }

    /// Random ranges over a store of thousands of keys in a snapshot, a memtable and tombstones:
    /// `visit` and `scan` agree, and a visit stops where its body says, or where it throws.
    @Test func visitAgreesWithScanOnRandomRangesAndStopsWhenAsked() throws {
        struct Stop: Error {}
        try withTemporaryDirectory("visitrandom") { dir in
            var random = SeededRandom(seed: 31)
            let store = try Store(path: dir.store, options: relaxed())
            func key() -> [UInt8] { b("k\(Int.random(in: 0..<4000, using: &random))") }
            for _ in 0..<3000 { try store.put(key(), random.bytes(Int.random(in: 0...700, using: &random))) }
            _ = try store.compact()
            for _ in 0..<1500 {
                if Bool.random(using: &random) {
                    try store.put(key(), random.bytes(Int.random(in: 0...700, using: &random)))
                } else {
                    try store.delete(key())
                }
            }
            for _ in 0..<300 {
                let bound = { (random: inout SeededRandom) -> [UInt8]? in
                    Bool.random(using: &random) ? nil : b("k\(Int.random(in: 0..<4000, using: &random))")
                }
                let options = ScanOptions(
                    prefix: Int.random(in: 0..<4, using: &random) == 0
                        ? b("k\(Int.random(in: 1..<10, using: &random))") : nil,
                    start: bound(&random), end: bound(&random),
                    limit: Bool.random(using: &random) ? nil : Int.random(in: 0...200, using: &random),
                    reverse: Int.random(in: 0..<4, using: &random) == 0)
                let scanned = try store.scan(options)
                #expect(try Self.visited(options, store.visit) == scanned, "\(options)")
                let stopAfter = Int.random(in: 1...50, using: &random)
                var seen = 0
                try store.visit(options) { _, _ in
                    seen += 1
                    return seen < stopAfter
                }
                #expect(seen == min(stopAfter, scanned.count), "\(options)")
                seen = 0
                #expect(throws: Stop.self) {
                    try store.visit(options) { _, _ in
                        seen += 1
                        if seen == stopAfter { throw Stop() }
                        return true
                    }
                    if scanned.count < stopAfter { throw Stop() }  // too few pairs to reach the throw
                }
                #expect(seen == min(stopAfter, scanned.count), "\(options)")
            }
            store.close()
        }
    }
}
