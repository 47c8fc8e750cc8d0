// The bulk load at open (BulkLoader, KeyMap(sortedUnique:)): building the view of a whole log
// in one sorted pass gives exactly what applying its records one by one gives (values,
// sequences, tombstones, counts, live bytes), with and without a snapshot, whatever the keys
// share; and stores reopened through it hold what was committed. The compaction's merge
// (`View.forEachInPlace`) visits the same live entries as `forEach` on these views.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct BulkLoadTests {
    /// An entry as compared here.
    struct Row: Equatable, CustomStringConvertible {
        var key: [UInt8]
        var value: [UInt8]
        var sequence: UInt64
        var description: String { "\(key)=\(value)@\(sequence)" }
    }

    static func rows(_ map: KeyMap) -> [Row] {
        var rows: [Row] = []
        map.forEach(from: nil, to: nil, reverse: false) { entry in
            rows.append(Row(key: entry.key, value: entry.value, sequence: entry.sequence))
            return true
        }
        return rows
    }

    static func rows(_ view: View) throws -> [Row] {
        var rows: [Row] = []
        try view.forEach(from: nil, to: nil, reverse: false) { entry in
            rows.append(Row(key: entry.key, value: entry.value, sequence: entry.sequence))
            return true
        }
        return rows
    }

    /// What the compaction's merge visits, copied out.
    static func rowsInPlace(_ view: View) throws -> [Row] {
        var rows: [Row] = []
        try view.forEachInPlace { key, value, sequence in
            rows.append(Row(key: Array(key), value: Array(value), sequence: sequence))
            return true
        }
        return rows
    }

    /// Keys of one family: 0 short keys over a few bytes (0x00 and 0xFF included, keys that are
    /// prefixes of others); 1 keys with a long shared prefix whose next 8 bytes are often equal,
    /// and the 7 after those, and so on for up to 70 bytes (the sort goes on 7 bytes at a time,
    /// then compares whole keys); 2 both mixed.
    static func randomKey(_ family: Int, _ random: inout SeededRandom) -> [UInt8] {
        let alphabet: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF]
        func tail(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
        }
        switch family == 2 ? Int.random(in: 0...1, using: &random) : family {
        case 0:
            return tail(Int.random(in: 1...3, using: &random))
        default:
            let middles = [[], b("ABCDEFGH"), b("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), [UInt8](repeating: 0x41, count: 70)]
            let middle = middles[Int.random(in: 0..<middles.count, using: &random)]
            let key = b("shared/prefix/") + middle + tail(Int.random(in: 0...3, using: &random))
            return key
        }
    }

    /// `count` records with consecutive sequences from `first`: puts (values 0-5 bytes, some
    /// empty) and deletes, 1-4 per record, the same key now and then twice in one record.
    static func randomRecords(_ count: Int, family: Int, first: UInt64, _ random: inout SeededRandom) -> [LogRecord] {
        (0..<count).map { i in
            var mutations: [Mutation] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let key =
                    mutations.isEmpty || Int.random(in: 0..<5, using: &random) > 0
                    ? randomKey(family, &random) : mutations[mutations.count - 1].key
                if Int.random(in: 0..<10, using: &random) < 7 {
                    mutations.append(.put(key: key, value: random.bytes(Int.random(in: 0...5, using: &random))))
                } else {
                    mutations.append(.delete(key: key))
                }
            }
            return LogRecord(sequence: first + UInt64(i), mutations: mutations)
        }
    }

    /// Feeds `records` to `loader` as the log reader does: their encoded payloads.
    static func add(_ records: [LogRecord], to loader: inout BulkLoader) {
        for record in records {
            let framed = LogFormat.encode(record)
            framed.withUnsafeBytes { raw in
                let payload = UnsafeRawBufferPointer(rebasing: raw[LogFormat.recordHeaderSize...])
                #expect(LogFormat.payloadSequence(payload) == record.sequence)
                loader.add(payload: payload, sequence: record.sequence)
            }
        }
    }

    /// A snapshot holding some keys of `family`, in a store under `directory`.
    static func makeSnapshot(_ directory: TemporaryDirectory, family: Int) throws -> SnapshotReader {
        var random = SeededRandom(seed: 99)
        let store = try Store(path: directory.store, options: relaxed { $0.autoCompactLogBytes = nil })
        for _ in 0..<60 { try store.put(randomKey(family, &random), random.bytes(3)) }
        _ = try store.compact()
        store.close()
        let files = PosixFileLayer()
        let manifest = try Store.readManifest(directory: directory.store, files: files)
        #expect(manifest.snapshot > 0)
        return try SnapshotReader(
            files: files, directory: directory.store, number: manifest.snapshot, cacheBytes: 1 << 16)
    }

    /// Builds the view both ways and compares everything.
    static func expectSameAsSequential(
        _ records: [LogRecord], snapshot: SnapshotReader?, dedupeThreshold: Int,
        _ context: String
    ) throws {
        var sequential = View()
        sequential.snapshot = snapshot
        for record in records { sequential.apply(record) }

        var loader = BulkLoader(hasSnapshot: snapshot != nil, dedupeThreshold: dedupeThreshold)
        add(records, to: &loader)
        let bulk = loader.makeView(snapshot: snapshot)

        #expect(bulk.memtable._checkInvariants(), "\(context)")
        #expect(bulk.tombstones._checkInvariants(), "\(context)")
        #expect(rows(bulk.memtable) == rows(sequential.memtable), "\(context)")
        #expect(rows(bulk.tombstones) == rows(sequential.tombstones), "\(context)")
        #expect(bulk.memtable.count == sequential.memtable.count, "\(context)")
        #expect(bulk.memtable.liveBytes == sequential.memtable.liveBytes, "\(context)")
        #expect(bulk.tombstones.count == sequential.tombstones.count, "\(context)")
        #expect(try rows(bulk) == rows(sequential), "\(context)")
        #expect(try rowsInPlace(bulk) == rows(sequential), "\(context)")
        #expect(try rowsInPlace(sequential) == rows(sequential), "\(context)")
        let (keys, bytes) = try bulk.countLive()
        let (expectedKeys, expectedBytes) = try sequential.countLive()
        #expect(keys == expectedKeys && bytes == expectedBytes, "\(context)")
        if snapshot == nil { #expect(bulk.tombstones.count == 0, "\(context)") }
    }

    @Test(arguments: [0, 1, 2])
    func bulkBuildEqualsSequentialApply(family: Int) throws {
        try withTemporaryDirectory("bulk") { directory in
            let snapshot = try Self.makeSnapshot(directory, family: family)
            var random = SeededRandom(seed: 4000 + UInt64(family))
            for count in [0, 1, 2, 7, 60, 2500] {
                let records = Self.randomRecords(count, family: family, first: 1 + UInt64(count), &random)
                for withSnapshot in [false, true] {
                    for threshold in [1 << 20, 5, 64] {
                        try Self.expectSameAsSequential(
                            records, snapshot: withSnapshot ? snapshot : nil, dedupeThreshold: threshold,
                            "family \(family), \(count) records, snapshot \(withSnapshot), threshold \(threshold)")
                    }
                }
            }
        }
    }

    @Test func manyDistinctKeysSortAsTheMapDoes() throws {
        // Distinct keys in random order, sharing a 10-byte prefix and differing in the next 6
        // (the bench's shape), plus keys longer and shorter than the 8 bytes compared first.
        var random = SeededRandom(seed: 17)
        var numbers = Array(0..<20_000)
        numbers.shuffle(using: &random)
        var records: [LogRecord] = []
        for (i, n) in numbers.enumerated() {
            var key = b("k0000000000") + Array(String(n).utf8)
            if n % 7 == 0 { key += b("-longer-than-eight") }
            if n % 11 == 0 { key = Array(key.prefix(12)) }
            records.append(LogRecord(sequence: UInt64(i + 1), mutations: [.put(key: key, value: [UInt8(n & 0xFF)])]))
        }
        try Self.expectSameAsSequential(records, snapshot: nil, dedupeThreshold: 1 << 20, "distinct keys")
        try Self.expectSameAsSequential(records, snapshot: nil, dedupeThreshold: 3000, "distinct keys, dedupes")
    }

    @Test func dedupesKeepMemoryBoundedByTheLiveKeys() {
        var random = SeededRandom(seed: 5)
        var loader = BulkLoader(hasSnapshot: false, dedupeThreshold: 100)
        var largest = 0
        var sequential = View()
        for sequence in 1...5000 {
            let records = Self.randomRecords(1, family: 0, first: UInt64(sequence), &random)
            Self.add(records, to: &loader)
            sequential.apply(records[0])
            largest = max(largest, loader.pendingCount)
        }
        // At most 5^3 + 5^2 + 5 = 155 distinct keys: each dedupe leaves at most that many, and
        // the next comes at twice as many (>= 100), so fewer than 2 * 155 + 4 are ever held.
        #expect(largest < 2 * 155 + 4)
        #expect(largest >= 100)
        let bulk = loader.makeView(snapshot: nil)
        #expect(Self.rows(bulk.memtable) == Self.rows(sequential.memtable))
        #expect(bulk.memtable._checkInvariants())
    }

    @Test func sortedUniqueInitializerBuildsAValidMapThatTakesLaterWrites() {
        var random = SeededRandom(seed: 8)
        for size in [0, 1, 383, 384, 385, 1000, 5000] {
            let entries = (0..<size).map { i in
                KeyMap.Entry(
                    key: [UInt8(i >> 8), UInt8(i & 0xFF)], value: random.bytes(i % 4), sequence: UInt64(i + 1))
            }
            var bulk = KeyMap(sortedUnique: entries)
            var sequential = KeyMap()
            for entry in entries.shuffled(using: &random) {
                sequential.put(entry.key, entry.value, sequence: entry.sequence)
            }
            #expect(bulk._checkInvariants(), "size \(size)")
            #expect(bulk.count == size && bulk.liveBytes == sequential.liveBytes, "size \(size)")
            #expect(Self.rows(bulk) == Self.rows(sequential), "size \(size)")
            for entry in entries { #expect(bulk.get(entry.key)?.value == entry.value) }
            // Later writes (enough to split the 3/4-full chunks) behave the same on both.
            for op in 0..<3000 {
                let key = [UInt8.random(in: 0...25, using: &random), UInt8.random(in: 0...255, using: &random)]
                if Bool.random(using: &random) {
                    bulk.put(key, [1], sequence: UInt64(10_000 + op))
                    sequential.put(key, [1], sequence: UInt64(10_000 + op))
                } else {
                    #expect(bulk.remove(key) == sequential.remove(key))
                }
            }
            #expect(bulk._checkInvariants(), "size \(size) after writes")
            #expect(Self.rows(bulk) == Self.rows(sequential), "size \(size) after writes")
            #expect(bulk.count == sequential.count && bulk.liveBytes == sequential.liveBytes)
        }
    }

    @Test func reopenedStoresHoldWhatWasCommittedWithAndWithoutASnapshot() throws {
        try withTemporaryDirectory("bulk-reopen") { directory in
            var random = SeededRandom(seed: 31)
            var model = ReferenceModel()
            let options = relaxed { $0.autoCompactLogBytes = nil }
            let writer = try Store(path: directory.store, options: options)
            // A second handle follows by catch-up (records applied one by one).
            let follower = try Store(path: directory.store, options: options)
            for round in 0..<3 {
                for _ in 0..<400 {
                    try writer.write { tx in
                        for _ in 0..<Int.random(in: 1...3, using: &random) {
                            let key = Self.randomKey(2, &random)
                            if Int.random(in: 0..<10, using: &random) < 7 {
                                let value = random.bytes(Int.random(in: 0...6, using: &random))
                                try tx.put(key, value)
                                model.put(key, value)
                            } else {
                                try tx.delete(key)
                                model.delete(key)
                            }
                        }
                    }
                }
                let reopened = try Store(path: directory.store, options: options)
                #expect(try reopened.scan() == model.all, "round \(round)")
                #expect(try follower.scan() == model.all, "round \(round)")
                let stats = try reopened.stats()
                #expect(stats.keys == model.count, "round \(round)")
                #expect(
                    stats.liveBytes == model.all.reduce(0) { $0 + $1.key.count + $1.value.count },
                    "round \(round)")
                _ = try reopened.verify()  // throws on damage
                reopened.close()
                if round == 0 { _ = try writer.compact() }  // rounds 1 and 2 replay over a snapshot
            }
            writer.close()
            follower.close()
        }
    }
}
