import CLogbookShims

/// Lexicographic order of byte strings (unsigned bytes, then length).
@inline(__always)
func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int32 {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in compareRaw(pa.baseAddress, pa.count, pb.baseAddress, pb.count) }
    }
}

/// The live keys of a store in key order, each with its value and the sequence number of the
/// commit that last wrote it.
///
/// A sorted list of sorted chunks (at most `maxChunk` entries each): look-ups are two binary
/// searches, inserts move at most one chunk's entries, and a copy of the map is O(1) until
/// written; the first write after a copy duplicates only the chunk list and the one chunk it
/// touches. Transactions take such copies as their snapshot.
struct KeyMap: Sendable {
    struct Entry: Sendable {
        var key: [UInt8]
        var value: [UInt8]
        var sequence: UInt64
    }

    static let maxChunk = 512

    private var chunks: [[Entry]] = []
    private(set) var count = 0
    /// Sum of key and value sizes.
    private(set) var liveBytes = 0

    init() {}

    /// A map of `entries`, which must be in strictly increasing key order (no key twice), built
    /// in one pass: chunks filled to 3/4 of `maxChunk`, so the first inserts after it do not
    /// split at once. The bulk load at open builds the memtable this way.
    init(sortedUnique entries: some Sequence<Entry>) {
        let fill = Self.maxChunk * 3 / 4
        var chunk: [Entry] = []
        chunk.reserveCapacity(fill)
        for entry in entries {
            count += 1
            liveBytes += entry.key.count + entry.value.count
            chunk.append(entry)
            if chunk.count == fill {
                chunks.append(chunk)
                chunk = []
                chunk.reserveCapacity(fill)
            }
        }
        if !chunk.isEmpty { chunks.append(chunk) }
    }

    /// Index of the chunk that holds `key` or would hold it. Works on borrowed buffers: no
    /// reference counting on the hot path.
    @inline(__always)
    private func chunkIndex(_ key: [UInt8]) -> Int {
        chunks.withUnsafeBufferPointer { chunks in
            var low = 0
            var high = chunks.count - 1
            while low < high {
                let mid = (low + high) / 2
                let order = chunks[mid].withUnsafeBufferPointer { chunk in compareBytes(chunk[chunk.count - 1].key, key)
                }
                if order < 0 { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }

    /// First position in `chunk` whose key is >= `key`, and whether it is equal.
    @inline(__always)
    private static func search(_ chunk: [Entry], _ key: [UInt8]) -> (Int, Bool) {
        chunk.withUnsafeBufferPointer { chunk in
            var low = 0
            var high = chunk.count
            while low < high {
                let mid = (low + high) / 2
                let c = compareBytes(chunk[mid].key, key)
                if c < 0 { low = mid + 1 } else if c > 0 { high = mid } else { return (mid, true) }
            }
            return (low, false)
        }
    }

    /// The entry for `key`, or nil. Both binary searches compare borrowed bytes in place: no
    /// reference counting until the entry found is returned.
    func get(_ key: [UInt8]) -> Entry? {
        key.withUnsafeBufferPointer { k in
            chunks.withUnsafeBufferPointer { chunks -> Entry? in
                guard !chunks.isEmpty else { return nil }
                var low = 0
                var high = chunks.count - 1
                while low < high {
                    let mid = (low &+ high) &>> 1
                    let order = chunks[mid].withUnsafeBufferPointer { chunk in
                        chunk[chunk.count - 1].key.withUnsafeBufferPointer { last in
                            compareRaw(last.baseAddress, last.count, k.baseAddress, k.count)
                        }
                    }
                    if order < 0 { low = mid + 1 } else { high = mid }
                }
                return chunks[low].withUnsafeBufferPointer { chunk -> Entry? in
                    var low = 0
                    var high = chunk.count
                    while low < high {
                        let mid = (low &+ high) &>> 1
                        let c = chunk[mid].key.withUnsafeBufferPointer { probe in
                            compareRaw(probe.baseAddress, probe.count, k.baseAddress, k.count)
                        }
                        if c < 0 { low = mid + 1 } else if c > 0 { high = mid } else { return chunk[mid] }
                    }
                    return nil
                }
            }
        }
    }

    /// Inserts or replaces the entry for `key`.
    mutating func put(_ key: [UInt8], _ value: [UInt8], sequence: UInt64) {
        guard !chunks.isEmpty else {
            chunks = [[Entry(key: key, value: value, sequence: sequence)]]
            count = 1
            liveBytes = key.count + value.count
            return
        }
        let c = chunkIndex(key)
        let (i, found) = Self.search(chunks[c], key)
        if found {
            liveBytes += value.count - chunks[c][i].value.count
            chunks[c][i].value = value
            chunks[c][i].sequence = sequence
            return
        }
        chunks[c].insert(Entry(key: key, value: value, sequence: sequence), at: i)
        count += 1
        liveBytes += key.count + value.count
        if chunks[c].count > Self.maxChunk {
            let upper = Array(chunks[c][(Self.maxChunk / 2)...])
            chunks[c].removeSubrange((Self.maxChunk / 2)...)
            chunks.insert(upper, at: c + 1)
        }
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult
    mutating func remove(_ key: [UInt8]) -> Bool {
        guard !chunks.isEmpty else { return false }
        let c = chunkIndex(key)
        let (i, found) = Self.search(chunks[c], key)
        guard found else { return false }
        let old = chunks[c].remove(at: i)
        count -= 1
        liveBytes -= old.key.count + old.value.count
        if chunks[c].isEmpty { chunks.remove(at: c) }
        return true
    }

    /// Applies one committed transaction.
    mutating func apply(_ record: LogRecord) {
        for mutation in record.mutations {
            switch mutation {
            case .put(let key, let value): put(key, value, sequence: record.sequence)
            case .delete(let key): remove(key)
            }
        }
    }

    /// Position of the first entry with key >= `key` (or `count`-like end position).
    private func lowerBound(_ key: [UInt8]) -> (chunk: Int, index: Int) {
        guard !chunks.isEmpty else { return (0, 0) }
        let c = chunkIndex(key)
        let (i, _) = Self.search(chunks[c], key)
        if i == chunks[c].count { return (c + 1, 0) }
        return (c, i)
    }

    /// Visits entries with `lower <= key < upper` (nil: unbounded) in key order, or in reverse,
    /// until `body` returns false.
    func forEach(from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool, _ body: (Entry) -> Bool) {
        guard !chunks.isEmpty else { return }
        if !reverse {
            var (c, i) = lower.map(lowerBound) ?? (0, 0)
            while c < chunks.count {
                let chunk = chunks[c]
                while i < chunk.count {
                    let entry = chunk[i]
                    if let upper, compareBytes(entry.key, upper) >= 0 { return }
                    if !body(entry) { return }
                    i += 1
                }
                c += 1
                i = 0
            }
        } else {
            // Start just before the first key >= upper.
            var (c, i) = upper.map(lowerBound) ?? (chunks.count, 0)
            while true {
                if i == 0 {
                    if c == 0 { return }
                    c -= 1
                    i = chunks[c].count
                }
                i -= 1
                let entry = chunks[c][i]
                if let lower, compareBytes(entry.key, lower) < 0 { return }
                if !body(entry) { return }
            }
        }
    }

    /// An external iterator over `lower <= key < upper`, forwards or backwards; holds its own
    /// O(1) copy of the map.
    struct Cursor {
        private let map: KeyMap
        private let lower: [UInt8]?
        private let upper: [UInt8]?
        private let reverse: Bool
        private var chunk: Int
        private var index: Int

        init(_ map: KeyMap, lower: [UInt8]?, upper: [UInt8]?, reverse: Bool) {
            self.map = map
            self.lower = lower
            self.upper = upper
            self.reverse = reverse
            if reverse {
                (chunk, index) = upper.map(map.lowerBound) ?? (map.chunks.count, 0)
            } else {
                (chunk, index) = lower.map(map.lowerBound) ?? (0, 0)
            }
        }

        mutating func next() -> Entry? {
            let chunks = map.chunks
            if reverse {
                if index == 0 {
                    guard chunk > 0 else { return nil }
                    chunk -= 1
                    index = chunks[chunk].count
                }
                index -= 1
                let entry = chunks[chunk][index]
                if let lower, compareBytes(entry.key, lower) < 0 {
                    (chunk, index) = (0, 0)
                    return nil
                }
                return entry
            }
            while chunk < chunks.count {
                if index < chunks[chunk].count {
                    let entry = chunks[chunk][index]
                    index += 1
                    if let upper, compareBytes(entry.key, upper) >= 0 {
                        chunk = chunks.count
                        return nil
                    }
                    return entry
                }
                chunk += 1
                index = 0
            }
            return nil
        }
    }

    /// Checks the structure's invariants (sorted, chunk sizes, counts); for tests.
    func _checkInvariants() -> Bool {
        var previous: [UInt8]? = nil
        var entries = 0
        var bytes = 0
        for chunk in chunks {
            if chunk.isEmpty || chunk.count > Self.maxChunk { return false }
            for entry in chunk {
                if let previous, compareBytes(previous, entry.key) >= 0 { return false }
                previous = entry.key
                entries += 1
                bytes += entry.key.count + entry.value.count
            }
        }
        return entries == count && bytes == liveBytes
    }
}
