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
        let b = try Store(path: dir, options: options)
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
