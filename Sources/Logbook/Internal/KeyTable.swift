/// A transaction's read or write set: keys with a value each, in the order first set.
///
/// Most transactions touch a handful of keys: up to `linearLimit` entries a lookup is a linear
/// scan (comparing lengths first, then bytes), which is cheaper than hashing the key even once
/// and needs no hash table; past it, a hash index is built and kept up to date.
struct KeyTable<Value> {
    /// The entries, in the order their keys were first set.
    private(set) var entries: [(key: [UInt8], value: Value)] = []
    /// Position of each key in `entries`; empty until there are more than `linearLimit`.
    private var index: [HashedKey: Int] = [:]

    static var linearLimit: Int { 16 }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The position of `key`, or nil.
    func find(_ key: [UInt8]) -> Int? {
        if !index.isEmpty { return index[HashedKey(key)] }
        let count = key.count
        for i in entries.indices {
            let candidate = entries[i].key
            if candidate.count == count && compareBytes(candidate, key) == 0 { return i }
        }
        return nil
    }

    /// The value of `key`, or nil.
    subscript(key: [UInt8]) -> Value? {
        guard let i = find(key) else { return nil }
        return entries[i].value
    }

    /// Sets the value of `key` (keeping its position if it was there).
    mutating func set(_ key: [UInt8], _ value: Value) {
        if let i = find(key) {
            entries[i].value = value
            return
        }
        add(key, value)
    }

    /// Empties the table, returning its entries (not copied: the caller then owns the only
    /// reference and can sort them in place).
    mutating func takeEntries() -> [(key: [UInt8], value: Value)] {
        index = [:]
        defer { entries = [] }
        return entries
    }

    /// Adds `key`, known to be absent.
    mutating func add(_ key: [UInt8], _ value: Value) {
        if entries.isEmpty { entries.reserveCapacity(8) }
        entries.append((key, value))
        if !index.isEmpty {
            index[HashedKey(key)] = entries.count - 1
        } else if entries.count > Self.linearLimit {
            index.reserveCapacity(entries.count * 2)
            for (i, entry) in entries.enumerated() { index[HashedKey(entry.key)] = i }
        }
    }
}
