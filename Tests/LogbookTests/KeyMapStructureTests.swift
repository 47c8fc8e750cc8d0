// The KeyMap's search structure (KeyMapChunk words, the directory's prefix, separators and
// fences, the key filter) against a reference model: small chunk limits so that splits, merges,
// prefix shortening and filter rebuilds happen every few operations; keys with long shared
// prefixes, 0x00 and 0xFF bytes and keys that are prefixes of others; copies changed
// independently (also from other threads).

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct KeyMapStructureTests {
    /// Keys that stress the words: mostly one long shared prefix (the words then lie past it),
    /// sometimes no prefix at all (the map's prefix shortens), suffixes over an alphabet of
    /// extreme bytes, of 0...11 bytes (around the 7- and 8-byte word boundaries).
    static func key(_ random: inout SeededRandom) -> [UInt8] {
        let prefixes: [[UInt8]] = [
            Array("k000000000000000".utf8), Array("k000000000000000".utf8), Array("k000000000000000".utf8),
            [0x00, 0x00, 0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [],
        ]
        let alphabet: [UInt8] = [0x00, 0x01, 0x61, 0x62, 0xFF]
        // The first prefix most of the time, so that the map's prefix stays long for a while.
        let pick = Int.random(in: 0..<100, using: &random)
        let prefix = pick < 97 ? prefixes[pick % 3] : prefixes[3 + pick % 3]
        var key = prefix
        for _ in 0..<Int.random(in: 0...11, using: &random) {
            key.append(alphabet[Int.random(in: 0..<alphabet.count, using: &random)])
        }
        return key.isEmpty ? [0x61] : key
    }

    /// Looks up every key of the model and `probes` random ones through `get`, `value` and
    /// `contains`; returns how many lookups disagreed.
    func lookupMismatches(_ map: KeyMap, _ model: ReferenceModel, _ random: inout SeededRandom, probes: Int) -> Int {
        var wrong = 0
        var keys = model.keys
        for _ in 0..<probes { keys.append(Self.key(&random)) }
        for key in keys {
            let expected = model[key]
            if map.get(key)?.value != expected || map.value(key) != expected || map.contains(key) != (expected != nil) {
                wrong += 1
            }
        }
        return wrong
    }

    @Test(arguments: [2, 3, 4, 8, 16])
    func randomPutsRemovesAndOverwritesMatchTheModel(chunkLimit: Int) {
        var random = SeededRandom(seed: 500 + UInt64(chunkLimit))
        var map = KeyMap(chunkLimit: chunkLimit)
        var model = ReferenceModel()
        // Grow (many splits), shrink (merges, down to empty), grow again.
        for (phase, (ops, insertPercent)) in [(1500, 85), (2500, 25), (1200, 70)].enumerated() {
            for op in 0..<ops {
                let key = Self.key(&random)
                if Int.random(in: 0..<100, using: &random) < insertPercent {
                    let value = random.bytes(Int.random(in: 0...3, using: &random))
                    map.put(key, value, sequence: UInt64(op))
                    model.put(key, value)
                } else {
                    #expect(map.remove(key) == (model[key] != nil))
                    model.delete(key)
                }
                if op % 97 == 0, let violation = map._invariantViolation() {
                    Issue.record("phase \(phase) op \(op): \(violation)")
                    return
                }
            }
            expectMap(map, matches: model, "limit \(chunkLimit), end of phase \(phase)")
            #expect(lookupMismatches(map, model, &random, probes: 500) == 0)
        }
        // Everything removed: the map is empty again, and takes keys of another prefix.
        for key in model.keys {
            let removed = map.remove(key)
            #expect(removed)
        }
        #expect(map.count == 0 && map._invariantViolation() == nil)
        map.put([0x42], [1], sequence: 1)
        #expect(map.get([0x42])?.value == [1] && map._invariantViolation() == nil)
    }

    @Test func keysThatArePrefixesOfOthersSortBeforeThem() {
        // "a" < "a\0" < "a\0\0" < "a\u{1}" < "ab" < "ab\0" < "b", with and without a long shared
        // prefix in front, put in scrambled orders into maps of several chunk limits.
        let tails: [[UInt8]] = [
            [0x61], [0x61, 0x00], [0x61, 0x00, 0x00], [0x61, 0x01], [0x61, 0x62], [0x61, 0x62, 0x00], [0x62],
        ]
        for front in [[], Array("shared/prefix/0123456789/".utf8), [UInt8](repeating: 0xFF, count: 9)] {
            let keys = tails.map { front + $0 }
            for chunkLimit in [2, 3, KeyMap.maxChunk] {
                for rotation in 0..<keys.count {
                    var map = KeyMap(chunkLimit: chunkLimit)
                    let order = Array(keys[rotation...] + keys[..<rotation]).enumerated().sorted {
                        ($0.offset * 5) % 7 < ($1.offset * 5) % 7
                    }
                    for (i, key) in order.map(\.element).enumerated() { map.put(key, [UInt8(i)], sequence: 1) }
                    #expect(map._invariantViolation() == nil)
                    var visited: [[UInt8]] = []
                    map.forEach(from: nil, to: nil, reverse: false) { entry in
                        visited.append(entry.key)
                        return true
                    }
                    #expect(visited == keys, "front \(front.count) limit \(chunkLimit) rotation \(rotation)")
                    for key in keys { #expect(map.contains(key)) }
                    #expect(!map.contains(front + [0x61, 0x00, 0x01]))
                    #expect(!map.contains(front + [0x60, 0xFF]))
                    #expect(!map.contains(front))
                    // Scans starting at each key see it and what follows.
                    for (i, key) in keys.enumerated() {
                        var from: [[UInt8]] = []
                        map.forEach(from: key, to: nil, reverse: false) { entry in
                            from.append(entry.key)
                            return true
                        }
                        #expect(from == Array(keys[i...]))
                    }
                }
            }
        }
    }

    @Test func aKeyOutsideThePrefixShortensItAtEitherEnd() {
        var map = KeyMap(chunkLimit: 4)
        var model = ReferenceModel()
        let base = Array("tenant/0042/items/".utf8)
        for i in 0..<40 {
            let key = base + Array(String(i * 3).utf8)
            map.put(key, [UInt8(i)], sequence: 1)
            model.put(key, [UInt8(i)])
        }
        expectMap(map, matches: model, "one prefix")
        // Before every key, after every key, then sharing only part of the prefix, then none.
        for key in [
            Array("tenant/0041".utf8), Array("tenant/0043".utf8), Array("tenant/0042/items".utf8), [0x00], [0xFF],
        ] {
            map.put(key, [9], sequence: 2)
            model.put(key, [9])
            expectMap(map, matches: model, "after \(key)")
            var random = SeededRandom(seed: 9)
            #expect(lookupMismatches(map, model, &random, probes: 0) == 0)
        }
    }

    @Test func bulkLoadedMapsTakeRandomChangesAfterwards() {
        for chunkLimit in [2, 5, 8, KeyMap.maxChunk] {
            var random = SeededRandom(seed: 800 + UInt64(chunkLimit))
            var model = ReferenceModel()
            for _ in 0..<700 { model.put(Self.key(&random), random.bytes(2)) }
            var map = KeyMap(
                sortedUnique: model.keys.map { KeyMap.Entry(key: $0, value: model[$0]!, sequence: 1) },
                chunkLimit: chunkLimit)
            expectMap(map, matches: model, "bulk, limit \(chunkLimit)")
            #expect(lookupMismatches(map, model, &random, probes: 300) == 0)
            for op in 0..<800 {
                let key = Self.key(&random)
                if op % 3 == 0 {
                    #expect(map.remove(key) == (model[key] != nil))
                    model.delete(key)
                } else {
                    map.put(key, [UInt8(op & 0xFF)], sequence: 2)
                    model.put(key, [UInt8(op & 0xFF)])
                }
            }
            expectMap(map, matches: model, "bulk then changes, limit \(chunkLimit)")
            // A single-pass sequence (its count unknown in advance) builds the same map.
            var iterator = model.keys.makeIterator()
            let once = KeyMap(
                sortedUnique: AnyIterator {
                    iterator.next().map { KeyMap.Entry(key: $0, value: model[$0]!, sequence: 3) }
                },
                chunkLimit: chunkLimit)
            expectMap(once, matches: model, "single pass, limit \(chunkLimit)")
        }
        #expect(KeyMap(sortedUnique: [KeyMap.Entry](), chunkLimit: 4)._invariantViolation() == nil)
    }

    @Test func copiesChangedIndependentlyKeepTheirOwnContents() {
        var random = SeededRandom(seed: 31)
        var maps = [KeyMap(chunkLimit: 4)]
        var models = [ReferenceModel()]
        for round in 0..<1200 {
            // Now and then a copy of a random map starts a life of its own.
            if round % 150 == 0 && maps.count < 6 {
                let i = Int.random(in: 0..<maps.count, using: &random)
                maps.append(maps[i])
                models.append(models[i])
            }
            let i = Int.random(in: 0..<maps.count, using: &random)
            for _ in 0..<4 {
                let key = Self.key(&random)
                if Int.random(in: 0..<100, using: &random) < 65 {
                    let value = [UInt8(truncatingIfNeeded: round)]
                    maps[i].put(key, value, sequence: UInt64(round))
                    models[i].put(key, value)
                } else {
                    #expect(maps[i].remove(key) == (models[i][key] != nil))
                    models[i].delete(key)
                }
            }
        }
        #expect(maps.count == 6)
        for i in maps.indices {
            expectMap(maps[i], matches: models[i], "copy \(i)")
            #expect(lookupMismatches(maps[i], models[i], &random, probes: 300) == 0, "copy \(i)")
        }
    }

    @Test func readersOnOtherThreadsKeepTheirCopiesWhileTheWriterChangesTheMap() {
        // Eight threads each take a copy of the map between rounds of writes and check it
        // against the model of that moment, while this thread keeps writing to its own.
        var random = SeededRandom(seed: 77)
        var map = KeyMap(chunkLimit: 8)
        var model = ReferenceModel()
        var snapshots: [(KeyMap, [KeyValue])] = []
        for round in 0..<8 {
            for _ in 0..<300 {
                let key = Self.key(&random)
                if Int.random(in: 0..<100, using: &random) < 70 {
                    map.put(key, [UInt8(round)], sequence: UInt64(round))
                    model.put(key, [UInt8(round)])
                } else {
                    map.remove(key)
                    model.delete(key)
                }
            }
            snapshots.append((map, model.all))
        }
        let frozen = snapshots
        let writerMap = map
        let errors = runOnThreads(9) { index in
            if index == 8 {
                // The writer: changes a copy of its own (which shares chunks and the filter).
                var mine = writerMap
                var generator = SeededRandom(seed: 5)
                for i in 0..<3000 {
                    mine.put(Self.key(&generator), [0xEE], sequence: UInt64(i))
                    if i % 3 == 0 { mine.remove(Self.key(&generator)) }
                }
                try check(mine._invariantViolation() == nil, "writer's map: \(mine._invariantViolation() ?? "")")
                return
            }
            let (copy, expected) = frozen[index]
            for _ in 0..<20 {
                var visited: [KeyValue] = []
                copy.forEach(from: nil, to: nil, reverse: false) { entry in
                    visited.append(KeyValue(key: entry.key, value: entry.value))
                    return true
                }
                try check(visited == expected, "reader \(index) saw its copy change")
                for pair in expected { try check(copy.value(pair.key) == pair.value, "reader \(index) lookup") }
            }
        }
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func wordsOrderKeysThatShareTheirFirstBytes() {
        // For keys sharing `start` bytes: a smaller word means a smaller key, equal words
        // below 8 in the low byte mean equal keys.
        var random = SeededRandom(seed: 3)
        let alphabet: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF]
        for _ in 0..<20_000 {
            let shared = (0..<Int.random(in: 0...10, using: &random)).map { _ in alphabet.randomElement(using: &random)!
            }
            let a =
                shared
                + (0..<Int.random(in: 0...10, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            let c =
                shared
                + (0..<Int.random(in: 0...10, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            let (x, y) = (KeyMapChunk.word(a, from: shared.count), KeyMapChunk.word(c, from: shared.count))
            if x < y { #expect(keyLess(a, c), "\(a) \(c)") }
            if x > y { #expect(keyLess(c, a), "\(a) \(c)") }
            if x == y && x & 0xFF < 8 { #expect(a == c, "\(a) \(c)") }
            if a == c { #expect(x == y) }
        }
    }

    @Test func theFilterNeverForgetsAKeyAndIsRebuiltAsTheMapGrows() {
        var map = KeyMap(chunkLimit: 16)
        var keys: [[UInt8]] = []
        for i in 0..<5000 {
            let key = Array("key-\(i * 7919 % 5000)".utf8)
            map.put(key, [1], sequence: 1)
            keys.append(key)
            if i % 1000 == 999 { #expect(map._invariantViolation() == nil) }
        }
        #expect(keys.allSatisfy { map.contains($0) })
        // Absent keys are mostly told by the filter; all are absent.
        #expect((0..<5000).allSatisfy { !map.contains(Array("absent-\($0)".utf8)) })
        #expect(KeyFilter.none.mayContain(nil, 0) == false)
    }

    @Test func theFilterTellsMostAbsentKeysEvenWhenFull() {
        // Sized for eight bits a key: ~1% false positives at half its capacity, ~4% full.
        let filter = KeyFilter(capacity: 20_000)
        func has(_ key: String) -> Bool {
            Array(key.utf8).withUnsafeBytes { filter.mayContain($0.baseAddress, $0.count) }
        }
        func falsePositives() -> Int { (0..<100_000).count { has("absent-\($0)") } }
        var added = 0
        while added < filter.capacity / 2 {
            filter.add(Array("key-\(added)".utf8))
            added += 1
        }
        #expect(falsePositives() < 1_500)
        while !filter.isFull {
            filter.add(Array("key-\(added)".utf8))
            added += 1
        }
        #expect(falsePositives() < 5_000)
        #expect((0..<added).allSatisfy { has("key-\($0)") })
    }

    @Test func snapshotLookUpsOfBinaryKeysWithLongSharedPrefixes() throws {
        // After a compaction the keys live in snapshot blocks whose entry words are taken after
        // the prefix the neighbouring blocks' last keys share: every stored key is found,
        // every other probe (between keys, before and after them, prefixes of them) is not,
        // with the memtable empty and then holding other keys.
        let dir = "/tmp/lb-keymap-structure-\(UInt64.random(in: 0...UInt64.max))"
        defer { Disk.removeTree(dir) }
        let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        defer { store.close() }
        var random = SeededRandom(seed: 4242)
        var model = ReferenceModel()
        while model.count < 2500 {
            let key = Self.key(&random)
            let value = random.bytes(Int.random(in: 0...150, using: &random))
            try store.put(key, value)
            model.put(key, value)
        }
        try store.compact()
        var probes: [[UInt8]] = []
        for _ in 0..<3000 { probes.append(Self.key(&random)) }
        for key in model.keys.prefix(200) {
            probes.append(Array(key.dropLast()))
            probes.append(key + [0x00])
        }
        for round in 0..<2 {
            for key in model.keys { #expect(try store.get(key) == model[key], "round \(round)") }
            for probe in probes { #expect(try store.get(probe) == model[probe], "round \(round) probe \(probe)") }
            // Round 1: the memtable holds keys too (puts of other keys, deletes of some).
            for _ in 0..<300 {
                let key = Self.key(&random)
                if Bool.random(using: &random) {
                    try store.put(key, [7])
                    model.put(key, [7])
                } else {
                    try store.delete(key)
                    model.delete(key)
                }
            }
        }
        #expect(try store.scan() == model.all)
    }
}
