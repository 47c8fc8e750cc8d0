import CLogbookShims

/// A blocked Bloom filter over keys, shared by the copies of a `KeyMap`: "no" means the key was
/// never added, so a get of a key absent from the memtable (every snapshot key) skips its
/// search. Three bits in one 64-bit word per key: one cache line read per query. Up to eight
/// keys a word (false positives ~1% after a rebuild, ~4% when full): small enough to remain in
/// the processor's cache between gets (100-200 KB for 100,000 keys), where a filter of 16-32
/// bits a key ran to a megabyte and cost a memory miss on every get.
///
/// Append-only: bits are set with atomic ORs and never cleared, so the copies of a map that
/// share a filter may all add to it from any thread; a copy then only sees extra bits (false
/// positives, which cost a search), never misses a key it holds. A map replaces its filter by
/// a fresh one of its own keys once more keys were added than the filter was sized for.
final class KeyFilter: @unchecked Sendable {
    /// Keys the filter was sized for (8 bits each).
    let capacity: Int
    private let mask: Int
    private let words: UnsafeMutablePointer<UInt64>
    /// Keys added so far by the maps sharing the filter (about: see `add`).
    private let additionCount: UnsafeMutablePointer<UInt64>

    /// The filter of every empty map: holds no key, and no key is ever added to it.
    static let none = KeyFilter(capacity: 0)

    /// A filter for up to `capacity` keys.
    init(capacity: Int) {
        var wordCount = 16
        while wordCount * 8 < capacity { wordCount *= 2 }
        self.capacity = wordCount * 8
        mask = wordCount - 1
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0, count: wordCount)
        additionCount = .allocate(capacity: 1)
        additionCount.initialize(to: 0)
    }

    deinit {
        words.deallocate()
        additionCount.deallocate()
    }

    /// Keys added so far, from every map sharing the filter.
    var additions: Int { Int(truncatingIfNeeded: lb_atomic_load_u64(additionCount)) }

    /// Whether more keys were added than the filter was sized for.
    var isFull: Bool { additions > capacity }

    /// A 64-bit hash of the key's bytes.
    @inline(__always)
    static func hash(_ key: UnsafeRawPointer?, _ count: Int) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(truncatingIfNeeded: count) &* multiplier
        if count >= 8, let key {
            var i = 0
            while i &+ 8 <= count {
                h = (h ^ key.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* multiplier
                h ^= h &>> 29
                i &+= 8
            }
            // The last eight bytes (overlapping the ones already taken when count % 8 != 0).
            if i < count {
                h = (h ^ key.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)) &* multiplier
                h ^= h &>> 29
            }
        } else if count > 0, let key {
            var tail: UInt64 = 0
            var i = 0
            while i < count {
                tail |= UInt64(key.load(fromByteOffset: i, as: UInt8.self)) &<< UInt64(8 &* i)
                i &+= 1
            }
            h = (h ^ tail) &* multiplier
        }
        // MurmurHash3's finalizer.
        h ^= h &>> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h &>> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h &>> 33
        return h
    }

    /// The word a hash selects and the three bits it sets there.
    @inline(__always)
    private func slot(_ hash: UInt64) -> (word: UnsafeMutablePointer<UInt64>, bits: UInt64) {
        let bits =
            (1 as UInt64) &<< ((hash &>> 40) & 63) | (1 as UInt64) &<< ((hash &>> 46) & 63)
            | (1 as UInt64) &<< ((hash &>> 52) & 63)
        return (words + (Int(truncatingIfNeeded: hash) & mask), bits)
    }

    /// Adds a key.
    @inline(__always)
    func add(_ key: UnsafeRawPointer?, _ count: Int) {
        let (word, bits) = slot(Self.hash(key, count))
        if lb_atomic_load_u64(word) & bits != bits { _ = lb_atomic_fetch_or_u64(word, bits) }
        // Not a read-modify-write: maps sharing the filter on other threads may lose one
        // another's counts, which only delays a rebuild (no key depends on the count).
        lb_atomic_store_u64(additionCount, lb_atomic_load_u64(additionCount) &+ 1)
    }

    /// Adds keys by their hashes (`hash`) to a filter no other thread can see yet (the bulk
    /// load at open): plain stores, each word prefetched a few keys ahead, since a filter larger
    /// than the cache would otherwise cost a miss per key, one after the other.
    func addUnshared(hashes: UnsafeBufferPointer<UInt64>) {
        let ahead = 16
        for i in 0..<hashes.count {
            if i &+ ahead < hashes.count { lb_prefetch(slot(hashes[i &+ ahead]).word) }
            let (word, bits) = slot(hashes[i])
            word.pointee |= bits
        }
        additionCount.pointee &+= UInt64(hashes.count)
    }

    /// Adds a key array.
    func add(_ key: [UInt8]) {
        key.withUnsafeBufferPointer { add(UnsafeRawPointer($0.baseAddress), $0.count) }
    }

    /// False when the key was never added.
    @inline(__always)
    func mayContain(_ key: UnsafeRawPointer?, _ count: Int) -> Bool {
        let (word, bits) = slot(Self.hash(key, count))
        return lb_atomic_load_u64(word) & bits == bits
    }
}
