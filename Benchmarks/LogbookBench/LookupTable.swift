/// The lookup floor's hash table: open addressing with linear probing over keys stored back to
/// back, a word-at-a-time multiplicative hash, and one memcmp per probe. What a lookup of the
/// same keys costs in memory when nothing else is asked of the structure (no order, no sharing,
/// no concurrency).
struct LookupTable {
    private var bytes: [UInt8] = []
    private var offsets: [Int32] = [0]
    /// Index of the key in each slot, or -1.
    private var slots: [Int32]
    private let mask: Int

    init(keys: [[UInt8]]) {
        var capacity = 16
        while capacity < keys.count * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for (i, key) in keys.enumerated() {
            bytes += key
            offsets.append(Int32(bytes.count))
            var slot = Self.hash(key) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(i)
        }
    }

    /// The index of `key` among the keys the table was built from, or nil.
    @inline(__always)
    func find(_ key: [UInt8]) -> Int? {
        var slot = Self.hash(key) & mask
        return bytes.withUnsafeBufferPointer { stored in
            key.withUnsafeBufferPointer { wanted in
                while true {
                    let index = Int(slots[slot])
                    if index < 0 { return nil }
                    let start = Int(offsets[index])
                    let length = Int(offsets[index + 1]) - start
                    if length == wanted.count
                        && memcmp(stored.baseAddress! + start, wanted.baseAddress!, length) == 0
                    {
                        return index
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// Word-at-a-time multiply-xorshift, finished with MurmurHash3's fmix64 so that every key
    /// byte reaches the low bits the slot index takes.
    @inline(__always)
    static func hash(_ key: [UInt8]) -> Int {
        key.withUnsafeBytes { raw in
            var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(raw.count)
            var i = 0
            while i + 8 <= raw.count {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
                h ^= h >> 32
                i += 8
            }
            while i < raw.count {
                h = (h ^ UInt64(raw[i])) &* 0x9E37_79B9_7F4A_7C15
                i += 1
            }
            h ^= h >> 33
            h &*= 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 33
            h &*= 0xC4CE_B9FE_1A85_EC53
            h ^= h >> 33
            return Int(truncatingIfNeeded: h)
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
