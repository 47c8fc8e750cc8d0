/// Something a `KeyTable` holds: an entry with a key.
protocol Keyed {
    var key: [UInt8] { get }
    /// Whether the entry's key is `bytes` (compared where the key is, without copying it out).
    func hasKey(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool
}

extension Keyed {
    @inline(__always)
    func hasKey(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        key.withUnsafeBytes { equalBytes($0, UnsafeRawBufferPointer(bytes)) }
    }
}

/// A transaction's read or write set: entries with distinct keys, in the order first set.
///
/// Most transactions touch a handful of keys: up to `linearLimit` entries a lookup is a linear
/// scan (comparing lengths first, then bytes), which is cheaper than hashing the key even once
/// and needs no hash table; past it, a hash index is built and kept up to date. The entries
/// are the caller's own type, so that the table hands them back as they are (the write set's
/// entries are the commit's mutations) and destroying them needs no generic runtime call.
struct KeyTable<Entry: Keyed> {
    /// The entries, in the order their keys were first set.
    private(set) var entries: [Entry] = []
    /// Position of each key in `entries`; empty until there are more than `linearLimit`.
    private var index: [HashedKey: Int] = [:]

    static var linearLimit: Int { 16 }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The position of `key`, or nil.
    func find(_ key: [UInt8]) -> Int? {
        if !index.isEmpty { return index[HashedKey(key)] }
        return key.withUnsafeBufferPointer { key in
            entries.withUnsafeBufferPointer { entries in entries.firstIndex { $0.hasKey(key) } }
        }
    }

    /// Sets `entry` (replacing the one with its key, in its position, if there is one).
    mutating func set(_ entry: consuming Entry) {
        if let i = find(entry.key) {
            entries[i] = entry
            return
        }
        add(entry)
    }

    /// Empties the table, returning its entries (not copied: the caller then owns the only
    /// reference and can sort them in place).
    mutating func takeEntries() -> [Entry] {
        index = [:]
        defer { entries = [] }
        return entries
    }

    /// Adds `entry`, whose key is known to be absent.
    mutating func add(_ entry: consuming Entry) {
        if entries.isEmpty { entries.reserveCapacity(8) }
        if !index.isEmpty { index[HashedKey(entry.key)] = entries.count }
        entries.append(entry)
        if index.isEmpty && entries.count > Self.linearLimit {
            index.reserveCapacity(entries.count * 2)
            for (i, entry) in entries.enumerated() { index[HashedKey(entry.key)] = i }
        }
    }
}

extension Mutation: Keyed {
    @inline(__always)
    func hasKey(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .put(let key, _), .delete(let key): key.withUnsafeBytes { equalBytes($0, UnsafeRawBufferPointer(bytes)) }
        }
    }
}
