import LogbookTestSupport
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CacheTests {
    @Test func evictsLeastRecentlyUsedFirstWithinTheByteBound() {
        var cache = LRUCache<Int, String>(capacity: 100)
        for i in 0..<5 { cache.put(i, "v\(i)", cost: 20) }
        #expect(cache.bytes == 100)
        #expect(cache._keysByRecency() == [4, 3, 2, 1, 0])
        #expect(cache.get(0) == "v0")  // now the most recent
        cache.put(5, "v5", cost: 30)  // evicts 1 and 2, the least recently used
        #expect(cache._keysByRecency() == [5, 0, 4, 3])
        #expect(cache.bytes == 90)
        #expect(cache.evictions == 2)
        #expect(cache.get(1) == nil)
        #expect(cache.hits == 1)
        #expect(cache.misses == 1)
        cache.put(6, "too big", cost: 101)
        #expect(cache.get(6) == nil)
        #expect(cache.bytes == 90)
        cache.put(3, "again", cost: 10)  // replacing frees the old cost
        #expect(cache.bytes == 80)
        #expect(cache.get(3) == "again")
    }

    @Test func randomOperationsNeverExceedTheBound() {
        var cache = LRUCache<Int, Int>(capacity: 1000)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let key = Int.random(in: 0..<200, using: &rng)
            if Bool.random(using: &rng) {
                cache.put(key, key * 2, cost: Int.random(in: 1...120, using: &rng))
            } else if let value = cache.get(key) {
                #expect(value == key * 2)
            }
            #expect(cache.bytes <= 1000)
        }
        #expect(cache._keysByRecency().count == cache.count)
        #expect(cache._checkInvariants())
    }

    @Test func mappedSnapshotCachesOnlyLongValues() throws {
        // Not paranoid: values in checked blocks are copied straight out of the mapping, except
        // those of at least `cachedValueMinimum` bytes, which the cache shares instead.
        let dir = "/tmp/lb-cache-long-\(UInt64.random(in: 0...UInt64.max))"
        defer { Disk.removeTree(dir) }
        let long = SnapshotReader.cachedValueMinimum
        let options = StoreOptions(durability: .relaxed, autoCompactLogBytes: nil, cacheBytes: 4 * (64 + 2 + long))
        let store = try Store(path: dir, options: options)
        let short = [UInt8](repeating: 1, count: long - 1)
        let longValues = (0..<6).map { [UInt8](repeating: UInt8($0), count: long + $0) }
        try store.put("s", short)
        for (i, value) in longValues.enumerated() { try store.put("l\(i)", value) }
        try store.compact()
        for _ in 0..<3 { #expect(try store.get("s") == short) }
        #expect(try store.get("absent") == nil)
        var stats = try store.stats()
        #expect(stats.cacheHits == 0)
        #expect(stats.cacheMisses == 0)
        #expect(stats.cacheBytes == 0)
        #expect(try store.get("l0") == longValues[0])
        #expect(try store.get("l0") == longValues[0])
        stats = try store.stats()
        #expect(stats.cacheHits == 1)
        #expect(stats.cacheMisses == 1)
        #expect(stats.cacheBytes == 64 + 2 + long)
        // Six long values through a cache of about four: the first ones are evicted.
        for (i, value) in longValues.enumerated() { #expect(try store.get("l\(i)") == value) }
        stats = try store.stats()
        #expect(stats.cacheHits == 2)
        #expect(stats.cacheMisses == 6)
        #expect(stats.cacheEvictions == 3)
        #expect(stats.cacheBytes <= options.cacheBytes)
        #expect(try store.get("l5") == longValues[5])  // most recent: still there
        #expect(try store.stats().cacheHits == 3)
        store.close()
    }

    /// A key whose hash the test chooses, to crowd the cache's table into long probe runs.
    struct CollidingKey: Hashable {
        var id: Int
        var bucket: Int
        func hash(into hasher: inout Hasher) { hasher.combine(bucket) }
    }

    @Test func collidingKeysSurviveEvictionsAndReplacements() {
        // Every key in one of three hash buckets: removals from the middle of long probe runs
        // must leave every other key reachable, in LRU order, against a model.
        var cache = LRUCache<CollidingKey, Int>(capacity: 40)
        var model: [Int] = []  // ids, most recent first
        var rng = SeededGenerator(seed: 7)
        for step in 0..<5_000 {
            let id = Int(rng.next() % 60)
            let key = CollidingKey(id: id, bucket: id % 3)
            if rng.next() % 3 == 0 {
                let expected = model.contains(id) ? id * 7 : nil
                #expect(cache.get(key) == expected)
                if expected != nil {
                    model.removeAll { $0 == id }
                    model.insert(id, at: 0)
                }
            } else {
                cache.put(key, id * 7, cost: 2)
                model.removeAll { $0 == id }
                model.insert(id, at: 0)
                if model.count > 20 { model.removeLast(model.count - 20) }
            }
            if step % 97 == 0 { #expect(cache._checkInvariants()) }
        }
        #expect(cache._keysByRecency().map(\.id) == model)
        #expect(cache._checkInvariants())
        #expect(cache.bytes == 2 * model.count)
    }

    @Test func expiredEntriesAreMisses() {
        var cache = LRUCache<Int, Int>(capacity: 100, timeToLive: 2_000_000)  // 2 ms
        cache.put(1, 1, cost: 1)
        #expect(cache.get(1) == 1)
        System.sleep(nanoseconds: 5_000_000)
        #expect(cache.get(1) == nil)
        #expect(cache.count == 0)
        #expect(cache.bytes == 0)
    }

    @Test func storeCacheCountsAndNeverServesStaleValues() throws {
        let dir = "/tmp/lb-cache-\(UInt64.random(in: 0...UInt64.max))"
        let options = StoreOptions(durability: .relaxed, autoCompactLogBytes: nil, cacheBytes: 64 << 10)
        let a = try Store(path: dir, options: options)
        // In paranoid mode every snapshot get goes through the cache (a hit skips checking the
        // block again), whatever the value's size.
        var paranoid = options
        paranoid.durability = .paranoid
        let b = try Store(path: dir, options: paranoid)
        let value = [UInt8](repeating: 1, count: 100)
        for i in 0..<2000 { try a.put(Array("k\(i + 10000)".utf8), value) }
        try a.compact()
        for i in 0..<2000 { #expect(try b.get(Array("k\(i + 10000)".utf8)) == value) }
        for i in 1900..<2000 { #expect(try b.get(Array("k\(i + 10000)".utf8)) == value) }  // still cached
        let stats = try b.stats()
        #expect(stats.cacheHits == 100)
        #expect(stats.cacheMisses == 2000)
        #expect(stats.cacheMisses > 0)
        #expect(stats.cacheHits > 0)
        #expect(stats.cacheEvictions > 0)  // 2000 × (64 + 6 + 100) bytes do not fit in 64 KiB
        #expect(stats.cacheBytes <= 64 << 10)
        // Another handle's commit and compaction: never the cached old value.
        #expect(try b.string("k10005") == String(decoding: value, as: UTF8.self))
        try a.put("k10005", "new")
        #expect(try b.string("k10005") == "new")
        try a.compact()
        try a.put("k10005", "newer")
        #expect(try b.string("k10005") == "newer")
        try a.delete("k10006")
        try a.compact()
        #expect(try b.get("k10006") == nil)
        #expect(try b.string("k10005") == "newer")
    }
}
