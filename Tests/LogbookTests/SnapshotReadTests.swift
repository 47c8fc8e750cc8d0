import LogbookTestSupport
import Testing

@_spi(Testing) @testable import Logbook

/// The snapshot read path: the byte order used by every search, the flat block index, and the
/// checks a block passes before its first use.
@Suite struct SnapshotReadTests {
    @Test func compareRawIsLexicographicOrder() {
        var random = SeededGenerator(seed: 11)
        let alphabet: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF]
        for _ in 0..<20_000 {
            // Short strings over a small alphabet, so that long shared prefixes and equal
            // strings are common; lengths across the 8-byte word boundaries.
            let a = (0..<Int(random.next() % 20)).map { _ in alphabet[Int(random.next() % 5)] }
            var c =
                Int(random.next() % 3) == 0
                ? a : (0..<Int(random.next() % 20)).map { _ in alphabet[Int(random.next() % 5)] }
            if !c.isEmpty && random.next() % 4 == 0 {
                c[Int(random.next() % UInt64(c.count))] = alphabet[Int(random.next() % 5)]
            }
            let expected: Int32 = a == c ? 0 : (a.lexicographicallyPrecedes(c) ? -1 : 1)
            let got = a.withUnsafeBytes { x in
                c.withUnsafeBytes { y in compareRaw(x.baseAddress, x.count, y.baseAddress, y.count) }
            }
            #expect(got == expected, "\(a) vs \(c)")
        }
    }

    @Test func searchIndexFindsTheFirstBlockAtOrAfterAnyKey() {
        var random = SeededGenerator(seed: 12)
        let alphabet: [UInt8] = [0, 1, 0x61, 0xFF]
        for round in 0..<60 {
            // Last keys that share a prefix of 0...12 bytes (so the word compared after it
            // lies anywhere in them, or past their end), then random probes around them.
            let shared = (0..<Int(random.next() % 13)).map { _ in alphabet[Int(random.next() % 4)] }
            var keys = Set<[UInt8]>()
            let count = round == 0 ? 1 : Int(random.next() % 40) + 1
            while keys.count < count {
                keys.insert(shared + (0..<Int(random.next() % 11)).map { _ in alphabet[Int(random.next() % 4)] })
            }
            let lastKeys = keys.filter { !$0.isEmpty }.sorted { $0.lexicographicallyPrecedes($1) }
            let blocks = lastKeys.enumerated().map { i, key in
                SnapshotFormat.BlockHandle(offset: UInt64(i), length: 1, count: 1, lastKey: key)
            }
            let index = SearchIndex(SnapshotFormat.Index(number: 1, keyCount: 0, dataSize: 0, blocks: blocks))
            defer { index.deallocate() }
            for _ in 0..<300 {
                var probe: [UInt8]
                switch random.next() % 3 {
                case 0: probe = lastKeys.isEmpty ? [] : lastKeys[Int(random.next() % UInt64(lastKeys.count))]
                case 1: probe = Array(shared.prefix(Int(random.next() % UInt64(shared.count + 1))))
                default: probe = []
                }
                for _ in 0..<Int(random.next() % 4) { probe.append(alphabet[Int(random.next() % 4)]) }
                if !probe.isEmpty && random.next() % 3 == 0 { probe.removeLast() }
                let expected = lastKeys.firstIndex { !$0.lexicographicallyPrecedes(probe) } ?? lastKeys.count
                let got = probe.withUnsafeBytes { index.firstBlock(atOrAfter: $0) }
                #expect(got == expected, "probe \(probe) in \(lastKeys)")
                if lastKeys.indices.contains(got) {
                    #expect(Array(index.lastKey(got)) == lastKeys[got])
                }
            }
        }
    }

    /// Last keys in runs that tie on the word after the prefix all share, and share more bytes
    /// beyond it (structured keys such as `ag/t/T-20261128-…` in every block of one kind): the
    /// search in a run compares the run's own prefix, then the words after it, then bytes.
    @Test func searchIndexFindsTheFirstBlockAmongKeysThatTieOnTheirWord() {
        var random = SeededGenerator(seed: 14)
        let alphabet: [UInt8] = [0, 1, 0x61, 0xFF]
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in alphabet[Int(random.next() % 4)] } }
        func any<T>(_ list: [T]) -> T { list[Int(random.next() % UInt64(list.count))] }
        for _ in 0..<80 {
            // Families of 6-11 bytes (the word after the shared prefix ties within one when it
            // is 8 or more), each run of keys continuing with one of a few middles (so that its
            // keys share bytes past the word), then a short random tail.
            let shared = bytes(Int(random.next() % 4))
            let families = (0...random.next() % 3).map { _ in bytes(6 + Int(random.next() % 6)) }
            let middles = (0...random.next() % 2).map { _ in bytes(Int(random.next() % 13)) }
            var keys = Set<[UInt8]>()
            let count = Int(random.next() % 80) + 2
            while keys.count < count {
                keys.insert(shared + any(families) + any(middles) + bytes(Int(random.next() % 11)))
            }
            let lastKeys = keys.sorted { $0.lexicographicallyPrecedes($1) }
            let blocks = lastKeys.enumerated().map { i, key in
                SnapshotFormat.BlockHandle(offset: UInt64(i), length: 1, count: 1, lastKey: key)
            }
            let index = SearchIndex(SnapshotFormat.Index(number: 1, keyCount: 0, dataSize: 0, blocks: blocks))
            defer { index.deallocate() }
            for _ in 0..<400 {
                var probe: [UInt8]
                switch random.next() % 3 {
                case 0: probe = any(lastKeys)
                case 1: probe = shared + any(families) + any(middles)
                default: probe = Array(any(lastKeys).prefix(Int(random.next() % 24)))
                }
                if !probe.isEmpty && random.next() % 3 == 0 { probe.removeLast() }
                if !probe.isEmpty && random.next() % 4 == 0 {
                    probe[Int(random.next() % UInt64(probe.count))] = any(alphabet)
                }
                probe += bytes(Int(random.next() % 3))
                let expected = lastKeys.firstIndex { !$0.lexicographicallyPrecedes(probe) } ?? lastKeys.count
                let got = probe.withUnsafeBytes { index.firstBlock(atOrAfter: $0) }
                #expect(got == expected, "probe \(probe) in \(lastKeys)")
            }
        }
    }

    @Test func getsFindEveryKeyOfTheSnapshotAndNothingElse() throws {
        // Keys of varied lengths sharing long prefixes, values of varied lengths (some blocks
        // of one long entry): every stored key is found by binary search within its block,
        // and probes before, between and after the keys are not.
        let dir = "/tmp/lb-snapshot-gets-\(UInt64.random(in: 0...UInt64.max))"
        defer { Disk.removeTree(dir) }
        let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        defer { store.close() }
        var random = SeededGenerator(seed: 13)
        var model: [[UInt8]: [UInt8]] = [:]
        for i in 0..<3000 {
            let key = Array("user/\(i * 2)/\(String(repeating: "x", count: Int(random.next() % 5)))".utf8)
            let length = random.next() % 50 == 0 ? 5000 + Int(random.next() % 3000) : Int(random.next() % 200)
            let value = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ i) }
            try store.put(key, value)
            model[key] = value
        }
        try store.compact()
        for _ in 0..<2 {  // the first pass checks each block, the second uses what it recorded
            for (key, value) in model { #expect(try store.get(key) == value) }
            for i in 0..<3000 {
                #expect(try store.get(Array("user/\(i * 2 + 1)/".utf8)) == nil)
                #expect(try store.get(Array("user/\(i * 2)".utf8)) == nil)
            }
            #expect(try store.get(Array("a".utf8)) == nil)
            #expect(try store.get(Array("user/".utf8)) == nil)
            #expect(try store.get(Array("zzz".utf8)) == nil)
            #expect(try store.get([0xFF, 0xFF]) == nil)
        }
        #expect(try store.scan().count == model.count)
    }

    /// A snapshot whose block holds an entry newer than the snapshot (its sequence number beyond
    /// the MANIFEST's snapshot sequence) but with valid checksums: reads of that block fail
    /// with `corrupted` naming the data file; the other blocks still read.
    @Test func entryNewerThanTheSnapshotFailsReadsOfItsBlock() throws {
        let dir = "/tmp/lb-newer-entry-\(UInt64.random(in: 0...UInt64.max))"
        defer { Disk.removeTree(dir) }
        let options = StoreOptions(durability: .relaxed, autoCompactLogBytes: nil)
        let value = [UInt8](repeating: 7, count: 100)
        var store = try Store(path: dir, options: options)
        for i in 0..<100 { try store.put(Array("k\(1000 + i)".utf8), value) }
        let report = try store.compact()
        store.close()

        // Block 1's third entry gets sequence S + 5; its CRC is computed again.
        let data = dir + "/" + SnapshotFormat.dataName(report.snapshot)
        var bytes = Disk.read(data)
        let first = Int(bytes.loadLittleEndian(UInt32.self, at: SnapshotFormat.dataHeaderSize))
        let block = SnapshotFormat.dataHeaderSize + SnapshotFormat.blockHeaderSize + first
        let length = Int(bytes.loadLittleEndian(UInt32.self, at: block))
        let payload = block + SnapshotFormat.blockHeaderSize
        var entry = payload
        var keys: [[UInt8]] = []
        while entry < payload + length {
            let keyLength = Int(bytes.loadLittleEndian(UInt16.self, at: entry))
            keys.append(Array(bytes[entry + 14..<entry + 14 + keyLength]))
            if keys.count == 3 { bytes.storeLittleEndian(report.sequence + 5, at: entry + 6) }
            entry += 14 + keyLength + value.count
        }
        bytes.storeLittleEndian(CRC32C.checksum(bytes[payload..<payload + length]), at: block + 4)
        Disk.write(data, bytes)
        let keyInBlock0 = Array("k1000".utf8)

        store = try Store(path: dir, options: options)
        defer { store.close() }
        #expect(try store.get(keyInBlock0) == value)
        for key in [keys[2], keys[0], keys.last!] {
            do {
                _ = try store.get(key)
                Issue.record("get of a key in the damaged block succeeded")
            } catch let error as LogbookError {
                #expect(error.code == .corrupted)
                #expect(error.path == data)
                #expect(
                    error.message.contains("sequence \(report.sequence + 5) beyond the snapshot's \(report.sequence)"))
            }
        }
        for options in [ScanOptions.all, ScanOptions(prefix: keys[1]), ScanOptions(reverse: true)] {
            do {
                _ = try store.scan(options)
                Issue.record("a scan over the damaged block succeeded")
            } catch let error as LogbookError {
                #expect(error.code == .corrupted)
                #expect(error.path == data)
            }
        }
        #expect(try store.scan(ScanOptions(prefix: keyInBlock0)).map(\.value) == [value])
        do {
            _ = try store.verify()
            Issue.record("verify passed")
        } catch let error as LogbookError {
            #expect(error.code == .corrupted)
        }
    }
}
