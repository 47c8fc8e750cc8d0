// One get without a handle (`Store.get(_:at:options:)`): it reads the MANIFEST's snapshot and
// every log segment after it for the key's last write, and must answer exactly what a handle
// opened at the same moment answers: through overwrites, deletes over a snapshot, compactions,
// a compaction held between its seal and its install (two segments), a torn tail (ignored) and
// damage inside the log or at a sealed segment's end (the same `corrupted` error as opening).

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct PointReadTests {
    /// The keys `CompactionMergeTests.churn` writes, and some it never writes.
    static let keys: [[UInt8]] = (95..<225).map { b("k" + String($0)) } + [b("a"), b("k1"), b("zz")]

    /// Every key read without a handle agrees with `model`.
    static func expectOneShotGets(
        _ dir: TemporaryDirectory, _ model: ReferenceModel, _ context: String, options: StoreOptions = StoreOptions()
    ) throws {
        for key in keys {
            #expect(try Store.get(key, at: dir.store, options: options) == model[key], "\(context): \(key)")
        }
        // All at once, in an order of their own with repeats: one pass, the same answers.
        let many = keys.reversed() + keys.prefix(7)
        let values = try Store.getMany(Array(many), at: dir.store, options: options)
        #expect(values.count == many.count, "\(context): getMany")
        for (key, value) in zip(many, values) {
            #expect(value == model[key], "\(context): getMany \(key)")
        }
    }

    @Test func agreesWithAHandleThroughOverwritesDeletesAndCompactions() throws {
        try withTemporaryDirectory("point") { dir in
            var model = ReferenceModel()
            var random = SeededRandom(seed: 91)
            let store = try Store(path: dir.store, options: relaxed { $0.autoCompactLogBytes = nil })
            defer { store.close() }
            try CompactionMergeTests.churn(store, &model, &random, steps: 400, "log only")
            try Self.expectOneShotGets(dir, model, "log only")
            try store.compact()
            try Self.expectOneShotGets(dir, model, "snapshot only")
            // Deletes and overwrites over the snapshot: the log's last write wins over it.
            try CompactionMergeTests.churn(store, &model, &random, steps: 400, "over the snapshot")
            try Self.expectOneShotGets(dir, model, "log over a snapshot")
            try Self.expectOneShotGets(
                dir, model, "paranoid", options: StoreOptions(durability: .paranoid, createIfMissing: false))
            try store.compact()
            try CompactionMergeTests.churn(store, &model, &random, steps: 200, "over the second snapshot")
            try Self.expectOneShotGets(dir, model, "log over the second snapshot")
            #expect(model.count > 20 && model.count < 120, "the history both puts and deletes")
        }
    }

    /// Between a compaction's seal and its install, the MANIFEST names the sealed segment and
    /// the new one: the key's last write may be in either, or in the snapshot below.
    @Test func readsEverySegmentWhileACompactionIsHeldAtItsMerge() throws {
        try withTemporaryDirectory("point-merge") { dir in
            var model = ReferenceModel()
            var random = SeededRandom(seed: 92)
            let layer = ProbeFileLayer()
            let store = try CompactionMergeTests.storeWithHistory(
                dir, layer, snapshotBelow: true, &model, &random)
            defer { store.close() }
            let gate = layer.probe.hold(.open, of: SnapshotFormat.dataName(2) + ".tmp")
            defer { gate.open() }  // before the close, which waits for the compaction, even after a throw
            let compaction = CompactionMergeTests.BackgroundCompaction(store)
            try #require(gate.waitForArrival(), "the compaction reached its merge")
            try CompactionMergeTests.churn(store, &model, &random, steps: 300, "during the merge")
            let manifest = try Store.readManifest(directory: dir.store, files: PosixFileLayer())
            #expect(manifest.lastLog == manifest.firstLog + 1, "the sealed segment and the new one")
            try Self.expectOneShotGets(dir, model, "during the merge")
            // A sealed segment that ends in a torn record is damage, not the end of the log.
            let sealed = dir.store + "/" + LogFormat.segmentName(manifest.firstLog)
            let whole = Disk.read(sealed)
            Disk.write(sealed, Array(whole.dropLast(3)))
            let opening = #expect(throws: LogbookError.self) { _ = try Store(path: dir.store, options: relaxed()) }
            let reading = #expect(throws: LogbookError.self) { _ = try Store.get(b("k150"), at: dir.store) }
            for error in [opening, reading] {
                #expect(error?.code == .corrupted && error?.path == sealed)
                #expect(error?.message.contains("sealed log segment ends in a torn record") == true)
            }
            // So is one that ends in zeros: the seal cuts the zeros allocated ahead off, so zeros
            // there are records lost, not space for more. Verify says so; repair drops the rest.
            Disk.write(sealed, whole + [UInt8](repeating: 0, count: 100))
            let zeroOpening = #expect(throws: LogbookError.self) { _ = try Store(path: dir.store, options: relaxed()) }
            let zeroReading = #expect(throws: LogbookError.self) { _ = try Store.get(b("k150"), at: dir.store) }
            let zeroVerifying = #expect(throws: LogbookError.self) { _ = try Store.verify(path: dir.store) }
            for error in [zeroOpening, zeroReading, zeroVerifying] {
                #expect(error?.code == .corrupted && error?.path == sealed)
                #expect(error?.offset == UInt64(whole.count))
                #expect(error?.message.contains("sealed log segment ends in 100 zero bytes") == true)
            }
            Disk.write(sealed, whole)
            gate.open()
            #expect(try compaction.wait().get().snapshot == 2)
            try Self.expectOneShotGets(dir, model, "after the install")
        }
    }

    /// Many keys at once are matched against each log record by a binary search in byte order:
    /// keys that are prefixes of one another, bytes above 0x7F, repeats and absent keys, over a
    /// log and a snapshot, agree with a get of each.
    @Test func manyKeysAtOnceAgreeWithOneAtATime() throws {
        try withTemporaryDirectory("point-many") { dir in
            var model = ReferenceModel()
            var random = SeededRandom(seed: 93)
            let alphabet: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF]
            func randomKey() -> [UInt8] {
                (0..<Int.random(in: 1...4, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            }
            let store = try Store(path: dir.store, options: relaxed { $0.autoCompactLogBytes = nil })
            defer { store.close() }
            for step in 0..<600 {
                if step == 300 { try store.compact() }
                let key = randomKey()
                if Int.random(in: 0..<4, using: &random) == 0 {
                    try store.delete(key)
                    model.delete(key)
                } else {
                    let value = random.bytes(Int.random(in: 0...20, using: &random))
                    try store.put(key, value)
                    model.put(key, value)
                }
            }
            let asked = (0..<400).map { _ in randomKey() }
            let values = try Store.getMany(asked, at: dir.store)
            #expect(values.count == asked.count)
            for (key, value) in zip(asked, values) {
                #expect(value == model[key], "\(key)")
                #expect(try Store.get(key, at: dir.store) == value, "\(key)")
            }
            #expect(Set(asked).count < asked.count, "the keys asked for repeat")
            #expect(asked.contains { model[$0] == nil } && asked.contains { model[$0] != nil })
        }
    }

    /// A compaction that deletes a segment between the MANIFEST's read and the segment's open:
    /// the get reads the MANIFEST again, a few times at most.
    @Test func aSegmentGoneBeforeItsOpenMeansReadingTheManifestAgain() throws {
        try withTemporaryDirectory("point-gone") { dir in
            do {
                let store = try Store(path: dir.store, options: relaxed())
                defer { store.close() }
                try store.put("k", "v")
            }
            let layer = ProbeFileLayer()
            var options = relaxed()
            options.fileLayer = layer
            layer.probe.fail(.open, of: "log-1.wal", errno: SystemError.enoent, times: 3)
            #expect(try Store.get(b("k"), at: dir.store, options: options) == b("v"))
            layer.probe.fail(.open, of: "log-1.wal", errno: SystemError.enoent, times: 20)
            let gone = #expect(throws: LogbookError.self) { _ = try Store.get(b("k"), at: dir.store, options: options) }
            #expect(gone?.errno == SystemError.enoent, "a segment that stays gone is an error, not absence")
        }
    }

    @Test func aTornTailEndsTheLogAndDamageBeforeItIsCorruption() throws {
        try withTemporaryDirectory("point-damage") { dir in
            let history: SampleHistory
            do {
                let store = try Store(path: dir.store, options: relaxed())
                defer { store.close() }
                history = try SampleHistory.commit(to: store)
            }
            let clean = Disk.read(dir.log)
            // The first bytes of a seventh record: torn, so not there.
            let sixth = Array(clean[history.starts[5]..<history.end])
            Disk.write(dir.log, clean + sixth.prefix(sixth.count - 3))
            #expect(try Store.get(b("z"), at: dir.store) == b(String(repeating: "z", count: 30)))
            #expect(try Store.get(b("c"), at: dir.store) == nil, "deleted by the last whole record")
            #expect(try Store.get(b("b"), at: dir.store) == b("2"))

            // A flipped byte in the second record, with whole records after it.
            var damaged = clean
            damaged[history.starts[1] + 10] ^= 0x40
            Disk.write(dir.log, damaged)
            let opening = #expect(throws: LogbookError.self) { _ = try Store(path: dir.store, options: relaxed()) }
            for key in ["a", "b", "q"] {
                let reading = #expect(throws: LogbookError.self) { _ = try Store.get(b(key), at: dir.store) }
                #expect(reading?.code == .corrupted, "\(key)")
                #expect(reading?.path == opening?.path && reading?.offset == opening?.offset, "\(key)")
                #expect(reading?.offset == UInt64(history.starts[1]), "\(key)")
            }
            let readingMany = #expect(throws: LogbookError.self) {
                _ = try Store.getMany([b("q"), b("a")], at: dir.store)
            }
            #expect(readingMany?.code == .corrupted && readingMany?.offset == opening?.offset)
        }
    }

    @Test func aMissingOrEmptyStore() throws {
        try withTemporaryDirectory("point-none") { dir in
            let missing = #expect(throws: LogbookError.self) { _ = try Store.get(b("k"), at: dir.store) }
            #expect(missing?.code == .notFound)
            let missingMany = #expect(throws: LogbookError.self) { _ = try Store.getMany([], at: dir.store) }
            #expect(missingMany?.code == .notFound, "even for no keys")
            Disk.write(dir.store, b("not a store"))
            let file = #expect(throws: LogbookError.self) { _ = try Store.get(b("k"), at: dir.store) }
            #expect(file?.code == .invalidArgument)
            Disk.removeTree(dir.store)
            Disk.makeDirectory(dir.store)
            let empty = #expect(throws: LogbookError.self) { _ = try Store.get(b("k"), at: dir.store) }
            #expect(empty?.code == .notFound, "a directory with no Logbook files")
            try Store(path: dir.store, options: relaxed()).close()
            #expect(try Store.get(b("k"), at: dir.store) == nil, "a new store")
            #expect(try Store.getMany([], at: dir.store) == [], "no keys")
            #expect(try Store.getMany([b("k"), b("k")], at: dir.store) == [nil, nil])
            #expect(try Store.get([], at: dir.store) == nil, "an empty key is never there")
            // A first segment cut short by a power loss: the store is empty.
            Disk.truncate(dir.log, to: 7)
            #expect(try Store.get(b("k"), at: dir.store) == nil)
            #expect(try Store.getMany([b("k"), b("j")], at: dir.store) == [nil, nil])
        }
    }
}
