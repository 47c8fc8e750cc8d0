// The in-memory ordered map (KeyMap): its invariants hold under random inserts and removes
// large enough to split chunks many times, it agrees with a dictionary, and copies are
// isolated snapshots.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct KeyMapTests {
    static func randomKey(_ random: inout SeededRandom) -> [UInt8] {
        // 2-byte keys over 80 × 80 values: 6400 possible keys, so removes hit existing ones often.
        [UInt8.random(in: 0..<80, using: &random), UInt8.random(in: 0..<80, using: &random)]
            + (Bool.random(using: &random) ? [] : [0xFF])
    }

    @Test func randomInsertsAndRemovesKeepTheInvariantsThroughManySplits() {
        var random = SeededRandom(seed: 2024)
        var map = KeyMap()
        var model = ReferenceModel()
        var largest = 0
        // Grow to thousands of keys (many 512-entry chunks split), then shrink, then churn.
        for phase in [(ops: 9000, insert: 90), (ops: 6000, insert: 20), (ops: 6000, insert: 55)] {
            for op in 0..<phase.ops {
                let key = Self.randomKey(&random)
                if Int.random(in: 0..<100, using: &random) < phase.insert {
                    let value = random.bytes(Int.random(in: 0...6, using: &random))
                    map.put(key, value, sequence: UInt64(op))
                    model.put(key, value)
                } else {
                    #expect(map.remove(key) == (model[key] != nil))
                    model.delete(key)
                }
                largest = max(largest, map.count)
                if op % 1000 == 999 { expectMap(map, matches: model, "phase \(phase), op \(op)") }
            }
            expectMap(map, matches: model, "end of phase \(phase)")
            for _ in 0..<300 {
                let key = Self.randomKey(&random)
                #expect(map.get(key)?.value == model[key])
            }
        }
        #expect(largest > 8 * KeyMap.maxChunk, "the map should have split into many chunks")
    }

    /// Values on both sides of the inline limit (bytes in the chunk's arena, or arrays of their
    /// own), replaced by longer and shorter ones and removed, with copies of the map taken along
    /// the way: the map agrees with the model through `get`, `forEach` and `forEachInPlace`, each
    /// copy keeps what it held when taken, and each arena's accounting holds.
    @Test func valuesAcrossTheInlineLimitAndCopiesKeepTheirBytes() {
        var random = SeededRandom(seed: 99)
        var map = KeyMap(chunkLimit: 16)
        var model = ReferenceModel()
        var copies: [(map: KeyMap, model: ReferenceModel)] = []
        let limit = KeyMapChunk.Record.inlineValueLimit
        let sizes = [0, 1, 7, 8, 100, limit - 1, limit, limit + 1, 3 * limit]
        for op in 0..<6000 {
            let key = Self.randomKey(&random)
            if Int.random(in: 0..<100, using: &random) < 70 {
                let value = random.bytes(sizes[Int.random(in: 0..<sizes.count, using: &random)])
                map.put(key, value, sequence: UInt64(op))
                model.put(key, value)
            } else {
                #expect(map.remove(key) == (model[key] != nil))
                model.delete(key)
            }
            if op % 400 == 0 { copies.append((map, model)) }
            if op % 1000 == 999 {
                expectMap(map, matches: model, "op \(op)")
                var inPlace: [KeyValue] = []
                _ = map.forEachInPlace { key, value, _ in
                    inPlace.append(KeyValue(key: [UInt8](key), value: [UInt8](value)))
                    return true
                }
                #expect(inPlace == model.all, "op \(op): forEachInPlace")
                for _ in 0..<200 {
                    let probe = Self.randomKey(&random)
                    #expect(map.value(probe) == model[probe], "op \(op)")
                }
            }
        }
        #expect(map.count > 1000, "the map should hold many chunks")
        for (i, copy) in copies.enumerated() { expectMap(copy.map, matches: copy.model, "copy \(i)") }
    }

    /// A value replaced by a shorter one is shrunk in place, leaving bytes behind: an arena keeps
    /// no more than half of itself (and at least 1 KiB) as garbage, whether it comes from
    /// shrinking, from values moved out by longer ones, or from removals.
    @Test func shrunkMovedAndRemovedValuesDoNotKeepTheirBytes() {
        var random = SeededRandom(seed: 5)
        var map = KeyMap()
        var model = ReferenceModel()
        let keys = (0..<200).map { b("key\($0)") }
        for (i, key) in keys.enumerated() {
            let value = random.bytes(500)
            map.put(key, value, sequence: UInt64(i))
            model.put(key, value)
        }
        for (step, length) in [1, 300, 400, 2].enumerated() {
            for (i, key) in keys.enumerated() {
                let value = random.bytes(length)
                map.put(key, value, sequence: UInt64(1000 * step + i))
                model.put(key, value)
                if i % 40 == 39 { expectMap(map, matches: model, "values of \(length) bytes, \(i + 1) replaced") }
            }
        }
        for (i, key) in keys.enumerated() where i % 4 != 0 {
            map.remove(key)
            model.delete(key)
            if i % 40 == 39 { expectMap(map, matches: model, "\(i + 1) removed") }
        }
        expectMap(map, matches: model, "the end")
    }

    @Test func boundedAndReverseVisitsMatchTheReference() {
        var random = SeededRandom(seed: 77)
        var map = KeyMap()
        var model = ReferenceModel()
        for i in 0..<3000 {
            let key = Self.randomKey(&random)
            map.put(key, [UInt8(i & 0xFF)], sequence: UInt64(i))
            model.put(key, [UInt8(i & 0xFF)])
        }
        for _ in 0..<300 {
            let lower: [UInt8]? = Bool.random(using: &random) ? nil : Self.randomKey(&random)
            let upper: [UInt8]? = Bool.random(using: &random) ? nil : Self.randomKey(&random)
            let reverse = Bool.random(using: &random)
            let stopAfter = Int.random(in: 1...700, using: &random)
            var visited: [KeyValue] = []
            map.forEach(from: lower, to: upper, reverse: reverse) { entry in
                visited.append(KeyValue(key: entry.key, value: entry.value))
                return visited.count < stopAfter
            }
            let expected = model.scan(ScanOptions(start: lower, end: upper, limit: stopAfter, reverse: reverse))
            #expect(
                visited == expected,
                "lower \(String(describing: lower)) upper \(String(describing: upper)) reverse \(reverse)")
        }
    }

    @Test func aCopyIsAnIsolatedSnapshot() {
        var map = KeyMap()
        for i in 0..<2000 { map.put([UInt8(i >> 8), UInt8(i & 0xFF)], [1], sequence: 1) }
        let snapshot = map
        for i in 0..<1000 { map.remove([UInt8(i >> 8), UInt8(i & 0xFF)]) }
        map.put([0xFF], [2], sequence: 2)
        map.put([0x00, 0x05], [3], sequence: 3)
        #expect(snapshot.count == 2000)
        #expect(snapshot._checkInvariants())
        #expect(snapshot.get([0x00, 0x05])?.value == [1])
        #expect(snapshot.get([0xFF]) == nil)
        #expect(map.count == 1002)
        #expect(map._checkInvariants())
        #expect(map.get([0x00, 0x05])?.value == [3])
    }

    @Test func applyRecordsTheCommitSequencePerKey() {
        var map = KeyMap()
        map.apply(
            LogRecord(sequence: 1, mutations: [.put(key: b("a"), value: b("1")), .put(key: b("b"), value: b("1"))]))
        map.apply(
            LogRecord(
                sequence: 2,
                mutations: [.put(key: b("a"), value: b("22")), .delete(key: b("b")), .delete(key: b("zz"))]))
        #expect(map.get(b("a"))?.value == b("22"))
        #expect(map.get(b("a"))?.sequence == 2)
        #expect(map.get(b("b")) == nil)
        #expect(map.count == 1)
        #expect(map.liveBytes == 3)
        #expect(map._checkInvariants())
    }
}
