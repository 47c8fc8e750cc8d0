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
        slots = Self.emptySlots(for: keys.count)
        mask = slots.count - 1
        for (i, key) in keys.enumerated() {
            bytes += key
            offsets.append(Int32(bytes.count))
            Self.place(Int32(i), for: key, in: &slots)
        }
    }

    /// Empty slots (-1) for `count` entries: a power of two, at least twice `count`.
    static func emptySlots(for count: Int) -> [Int32] {
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        return [Int32](repeating: -1, count: capacity)
    }

    /// Puts `entry` (>= 0) in the first empty slot from `key`'s hash on.
    static func place(_ entry: Int32, for key: [UInt8], in slots: inout [Int32]) {
        let mask = slots.count - 1
        var slot = hash(key) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = entry
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

/// `LookupTable`'s scheme for read_hot's details, holding values too: each entry is its key's
/// length, its value's length, the key and the value back to back, and a slot holds an entry's
/// offset, so a lookup is the slot, then the entry (key and value in the same lines), then the
/// new array a get returns. Not a floor of the goals: WORKLOADS.md's lookup floor is the one above.
struct ValueLookupTable {
    /// Entries: key length (2 bytes), value length (4 bytes), key, value.
    private var entries: [UInt8] = []
    /// Offset of the entry in each slot, or -1.
    private var slots: [Int32]
    private let mask: Int

    init(keys: [[UInt8]], values: [[UInt8]]) {
        precondition(keys.count == values.count)
        slots = LookupTable.emptySlots(for: keys.count)
        mask = slots.count - 1
        for (key, value) in zip(keys, values) {
            let offset = Int32(entries.count)
            withUnsafeBytes(of: UInt16(key.count).littleEndian) { entries += $0 }
            withUnsafeBytes(of: UInt32(value.count).littleEndian) { entries += $0 }
            entries += key
            entries += value
            LookupTable.place(offset, for: key, in: &slots)
        }
    }

    /// A new array holding `key`'s value, or nil.
    @inline(__always)
    func value(_ key: [UInt8]) -> [UInt8]? {
        var slot = LookupTable.hash(key) & mask
        return entries.withUnsafeBytes { stored in
            key.withUnsafeBufferPointer { wanted in
                while true {
                    let offset = Int(slots[slot])
                    if offset < 0 { return nil }
                    let keyLength = Int(stored.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian)
                    if keyLength == wanted.count
                        && memcmp(stored.baseAddress! + offset + 6, wanted.baseAddress!, keyLength) == 0
                    {
                        let count = Int(stored.loadUnaligned(fromByteOffset: offset + 2, as: UInt32.self).littleEndian)
                        let start = stored.baseAddress! + offset + 6 + keyLength
                        return [UInt8](unsafeUninitializedCapacity: count) { copy, initialized in
                            if count > 0 { memcpy(copy.baseAddress!, start, count) }
                            initialized = count
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }
}
