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
/// A sorted list of sorted chunks (`KeyMapChunk`, at most `maxChunk` entries each), split by
/// separator keys: chunk `c` holds keys in `separators[c - 1] < key <= separators[c]` (the
/// first and last chunk are open below and above). Inserts move at most one chunk's entries; a
/// copy of the map is O(1) until written, and the first write after a copy duplicates only the
/// chunk list and the one chunk it touches. Transactions take such copies as their snapshot.
///
/// Look-ups compare 8-byte words, not keys: every key shares the map's `prefix`, the
/// separators' words after it (`fences`) sit in one array, and each chunk keeps its keys' words
/// after the prefix its range shares (a key between two separators shares their common prefix).
/// Separators whose fences tie (keys that share more than the fence's bytes) are told apart by
/// their next 31 bytes, kept in one array (`KeyMapDirectory.tails`). A key is dereferenced only
/// for a tie beyond those, between chunk words of long keys, or for the entry found.
struct KeyMap: Sendable {
    struct Entry: Sendable {
        var key: [UInt8]
        var value: [UInt8]
        var sequence: UInt64
    }

    static let maxChunk = 256

    /// The chunk size limit, the prefix, the separators and their fences, the filter.
    private var directory: KeyMapDirectory
    /// Written only when uniquely referenced (see `KeyMapChunk`): safe to share across threads.
    nonisolated(unsafe) private var chunks: [KeyMapChunk] = []
    private(set) var count = 0
    /// Sum of key and value sizes.
    private(set) var liveBytes = 0

    /// An empty map; `chunkLimit` (2...256) bounds the entries of a chunk (tests use small ones).
    init(chunkLimit: Int = Self.maxChunk) {
        precondition(chunkLimit >= 2 && chunkLimit <= KeyMapChunk.maxCapacity)
        // Empty maps share one directory (it is immutable): an empty `View` allocates nothing.
        directory = chunkLimit == Self.maxChunk ? KeyMapDirectory.empty : KeyMapDirectory(chunkLimit: chunkLimit)
    }

    /// Most entries a chunk holds (`maxChunk` except in tests).
    private var chunkLimit: Int { directory.chunkLimit }
    /// Bytes every key in the map and every separator starts with: the longest prefix shared
    /// by all keys put since the map was last empty.
    private var prefix: [UInt8] { directory.prefix }
    /// `separators[c]` is >= every key of chunk `c` and < every key of chunk `c + 1`.
    private var separators: [[UInt8]] { directory.separators }
    /// `KeyMapChunk.word` of each separator after `prefix`.
    private var fences: [UInt64] { directory.fences }
    /// Every key put since the map was last empty is in it (shared with the map's copies);
    /// `KeyFilter.none` while the map is empty.
    private var filter: KeyFilter { directory.filter }

    /// Builds the directory again with `change` made to its parts.
    private mutating func changeDirectory(_ change: (inout KeyMapDirectory.Parts) -> Void) {
        var parts = directory.parts
        // Let go of the old one first, so that its arrays change in place when nothing else
        // holds them.
        directory = KeyMapDirectory.placeholder
        change(&parts)
        directory = KeyMapDirectory(parts)
    }

    /// A map of `entries`, which must be in strictly increasing key order (no key twice), built
    /// in one pass: chunks filled to 3/4 of `maxChunk`, so the first inserts after it do not
    /// split at once. The bulk load at open builds the memtable this way; it passes the keys'
    /// `KeyFilter.hash`es (in any order), taken while it had the keys in cache, so that the
    /// filter is built without reading every key again.
    init(
        sortedUnique entries: some Sequence<RawEntry>, hashes known: [UInt64]? = nil, chunkLimit: Int = Self.maxChunk
    ) {
        self.init(chunkLimit: chunkLimit)
        let fill = max(1, chunkLimit * 3 / 4)
        var chunk: KeyMapChunk? = nil
        let filter = KeyFilter(capacity: max(Self.minimumFilterCapacity, 2 * entries.underestimatedCount))
        var separators: [[UInt8]] = []
        var hashes: [UInt64] = []
        if known == nil { hashes.reserveCapacity(entries.underestimatedCount) }
        for entry in entries {
            if chunk == nil || chunk.unsafelyUnwrapped.count == fill {
                if let full = chunk {
                    // Its range ends at its last key; what it shares with the separator below is
                    // its prefix unless it turns out to be the last chunk. Computed now, while
                    // its keys are in cache.
                    let last = full.key(full.count - 1)
                    if let below = separators.last { full.rebase(Self.commonPrefix(below, last)) }
                    separators.append(last)
                }
                let size = KeyMapChunk.Record.size(keyCount: entry.key.count, valueCount: entry.value.count)
                chunk = KeyMapChunk.make(
                    capacity: chunkLimit, prefixLength: KeyMapChunk.noWords, arenaBytes: fill * size)
                chunks.append(chunk.unsafelyUnwrapped)
            }
            count += 1
            liveBytes += entry.key.count + entry.value.count
            if known == nil { hashes.append(KeyFilter.hash(entry.key.baseAddress, entry.key.count)) }
            chunk.unsafelyUnwrapped.appendWithoutWord(entry)
        }
        (known ?? hashes).withUnsafeBufferPointer { filter.addUnshared(hashes: $0) }
        guard let last = chunks.last else { return }
        let lastKey = last.key(last.count - 1)
        let prefix = Array(lastKey[0..<Self.commonPrefix(chunks[0].key(0), lastKey)])
        directory = KeyMapDirectory(
            KeyMapDirectory.Parts(chunkLimit: chunkLimit, prefix: prefix, separators: separators, filter: filter))
        chunks[0].rebase(prefix.count)
        last.rebase(prefix.count)
        if filter.isFull { rebuildFilter() }
    }

    /// One entry given to `init(sortedUnique:)`, its bytes read where they are.
    struct RawEntry {
        let key: UnsafeRawBufferPointer
        let value: UnsafeRawBufferPointer
        let sequence: UInt64
    }

    /// Keys the smallest filter is sized for.
    static let minimumFilterCapacity = 64

    /// Replaces the filter by one of this map's keys only, sized for twice as many.
    private mutating func rebuildFilter() {
        let filter = KeyFilter(capacity: max(Self.minimumFilterCapacity, 2 * count))
        var hashes: [UInt64] = []
        hashes.reserveCapacity(count)
        for chunk in chunks { chunk.appendKeyHashes(to: &hashes) }
        // Not visible to any other thread until the directory names it.
        hashes.withUnsafeBufferPointer { filter.addUnshared(hashes: $0) }
        changeDirectory { $0.filter = filter }
    }

    /// Length of the longest common prefix of `a` and `b`.
    static func commonPrefix(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let n = min(a.count, b.count)
                var i = 0
                while i &+ 8 <= n {
                    let x = UnsafeRawPointer(a.baseAddress!).loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    let y = UnsafeRawPointer(b.baseAddress!).loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    if x != y { return i + (x ^ y).trailingZeroBitCount / 8 }  // little-endian
                    i &+= 8
                }
                while i < n && a[i] == b[i] { i &+= 1 }
                return i
            }
        }
    }

    /// The prefix the words of chunk `c` are taken after: what its range's bounds share.
    private func rangePrefix(_ c: Int) -> Int {
        if c == 0 || c == chunks.count - 1 { return prefix.count }
        return Self.commonPrefix(separators[c - 1], separators[c])
    }

    /// Where `key` is or would go: its chunk, the first position there whose key is >= `key`,
    /// and whether that key is equal. The map must not be empty. Compares words in place: no
    /// reference counting, and a key is dereferenced only on a tie of words.
    @inline(__always)
    private func locate(_ key: UnsafeRawPointer?, _ keyCount: Int) -> (chunk: Int, index: Int, found: Bool) {
        let (c, order) = chunk(for: key, keyCount)
        return chunks.withUnsafeBufferPointer { chunks in
            if order != 0 {
                // Before or after every key.
                return order < 0 ? (0, 0, false) : (c, chunks[c].count, false)
            }
            let (index, found) = chunks[c].search(key, keyCount)
            return (c, index, found)
        }
    }

    /// The chunk `key` is or would go in, and how the key compares with the map's prefix: below
    /// it (-1, chunk 0), above it (1, the last chunk), or sharing it (0, the chunk the
    /// separators give). The map must not be empty.
    @inline(__always)
    private func chunk(for key: UnsafeRawPointer?, _ keyCount: Int) -> (chunk: Int, order: Int32) {
        let prefixLength = prefix.count
        let order = prefix.withUnsafeBufferPointer { p -> Int32 in
            let n = min(prefixLength, keyCount)
            let order = compareRaw(key, n, p.baseAddress, n)
            return order != 0 ? order : (keyCount < prefixLength ? -1 : 0)
        }
        if order != 0 { return (order < 0 ? 0 : chunks.count &- 1, order) }
        let c = fences.withUnsafeBufferPointer { fences in
            let count = fences.count
            let target = KeyMapChunk.word(key, keyCount, from: prefixLength)
            let first = firstWord(atLeast: target, count: count) { fences[$0] }
            // A separator with the key's word is the key, unless both go on past the word.
            guard first < count, fences[first] == target, target & 0xFF == 8 else { return first }
            // Equal words of 8: the prefix and the word's 7 bytes are common.
            let skip = prefixLength &+ 7
            var low = first
            var high = firstWord(atLeast: target &+ 1, count: count) { fences[$0] }
            while low < high {
                let mid = (low &+ high) &>> 1
                let order =
                    directory.compareTail(mid, key.unsafelyUnwrapped, keyCount, from: skip)
                    ?? separators.withUnsafeBufferPointer { separators in
                        separators[mid].withUnsafeBufferPointer { s in
                            compareRaw(
                                UnsafeRawPointer(s.baseAddress.unsafelyUnwrapped) + skip, s.count &- skip,
                                key.unsafelyUnwrapped + skip, keyCount &- skip)
                        }
                    }
                if order < 0 { low = mid &+ 1 } else { high = mid }
            }
            return low
        }
        return (c, 0)
    }

    /// The entry for `key`, or nil.
    func get(_ key: [UInt8]) -> Entry? { key.withUnsafeBytes { entry($0) } }

    /// The entry for the key whose bytes are `key`, or nil.
    func entry(_ key: UnsafeRawBufferPointer) -> Entry? {
        guard filter.mayContain(key.baseAddress, key.count) else { return nil }
        let (c, i, found) = locate(key.baseAddress, key.count)
        guard found else { return nil }
        return chunks.withUnsafeBufferPointer { $0[c][i] }
    }

    /// The value of `key`, or nil: `get` without retaining the key.
    func value(_ key: [UInt8]) -> [UInt8]? {
        guard let (c, i) = position(key) else { return nil }
        return chunks.withUnsafeBufferPointer { $0[c].value(i) }
    }

    /// `body` on the value of `key`, read in place (valid during the call); nil when absent (and
    /// `body` is not called).
    func withValue<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let (c, i) = position(key) else { return nil }
        return try chunks.withUnsafeBufferPointer { try $0[c].withValue(i, body) }
    }

    /// The chunk and position of `key`, or nil when absent.
    @inline(__always)
    private func position(_ key: [UInt8]) -> (chunk: Int, index: Int)? {
        // An empty memtable (after a compaction, before the next commit): not even its filter.
        guard count > 0 else { return nil }
        return key.withUnsafeBufferPointer { k in
            let key = UnsafeRawPointer(k.baseAddress)
            guard filter.mayContain(key, k.count) else { return nil }
            let (c, i, found) = locate(key, k.count)
            return found ? (c, i) : nil
        }
    }

    // MARK: a look-up in three steps (`View.values` takes each step for several keys before the
    // next, so that their memory misses overlap)

    /// Step 1: the chunk to search for `key`, its cache fills started; nil when the map does not
    /// hold the key (it is empty, or its filter or prefix says so).
    @inline(__always)
    func startLookUp(_ key: [UInt8]) -> Int? {
        guard count > 0 else { return nil }
        return key.withUnsafeBufferPointer { k in
            let key = UnsafeRawPointer(k.baseAddress)
            guard filter.mayContain(key, k.count) else { return nil }
            let (c, order) = chunk(for: key, k.count)
            guard order == 0 else { return nil }
            chunks.withUnsafeBufferPointer { $0[c].prefetchForSearch() }
            return c
        }
    }

    /// Step 2: the position of `key` in chunk `c` (step 1's), its record's cache fills started;
    /// nil when the map does not hold the key.
    @inline(__always)
    func position(of key: [UInt8], inChunk c: Int) -> Int? {
        chunks.withUnsafeBufferPointer { chunks in
            key.withUnsafeBufferPointer { k in
                let (i, found) = chunks[c].search(UnsafeRawPointer(k.baseAddress), k.count)
                guard found else { return nil }
                chunks[c].prefetchRecord(i)
                return i
            }
        }
    }

    /// Step 3: the value at position `i` of chunk `c` (step 2's).
    @inline(__always)
    func value(chunk c: Int, index i: Int) -> [UInt8] { chunks.withUnsafeBufferPointer { $0[c].value(i) } }

    /// Whether `key` is in the map.
    func contains(_ key: [UInt8]) -> Bool {
        key.withUnsafeBytes { contains($0) }
    }

    /// Whether the key whose bytes are `key` is in the map.
    func contains(_ key: UnsafeRawBufferPointer) -> Bool {
        filter.mayContain(key.baseAddress, key.count) && locate(key.baseAddress, key.count).found
    }

    /// Calls `body` with the key, value and sequence number of each entry with key >= `lower`
    /// (all when nil) in key order, read where they are (valid during the call), until it
    /// returns false; returns whether it went through all of them.
    func forEachInPlace(
        from lower: [UInt8]? = nil, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UInt64) -> Bool
    ) -> Bool {
        var (c, i) = lower.map(lowerBound) ?? (0, 0)
        while c < chunks.count {
            if !chunks[c].forEachInPlace(from: i, body) { return false }
            (c, i) = (c + 1, 0)
        }
        return true
    }

    /// `locate` for a key array.
    private func locate(_ key: [UInt8]) -> (chunk: Int, index: Int, found: Bool) {
        key.withUnsafeBufferPointer { locate(UnsafeRawPointer($0.baseAddress), $0.count) }
    }

    /// Copies chunk `c` unless this map is its only owner.
    @inline(__always)
    private mutating func makeUnique(_ c: Int) {
        if !isKnownUniquelyReferenced(&chunks[c]) { chunks[c] = chunks[c].copy() }
    }

    /// Makes chunk `c` take its words after `rangePrefix(c)`.
    private mutating func rebase(_ c: Int) {
        let wanted = rangePrefix(c)
        guard chunks[c].prefixLength != wanted else { return }
        makeUnique(c)
        chunks[c].rebase(wanted)
    }

    /// Inserts or replaces the entry for `key` (its bytes are copied into the chunk's arena; a
    /// value longer than `KeyMapChunk.Record.inlineValueLimit` is kept as it is, shared).
    mutating func put(_ key: [UInt8], _ value: [UInt8], sequence: UInt64) {
        guard !chunks.isEmpty else {
            let size = KeyMapChunk.Record.size(keyCount: key.count, valueCount: value.count)
            let chunk = KeyMapChunk.make(capacity: chunkLimit, prefixLength: key.count, arenaBytes: 4 * size)
            let filter = KeyFilter(capacity: Self.minimumFilterCapacity)
            filter.add(key)
            count = 1
            liveBytes = key.count + value.count
            let prefix = key
            chunk.insert(key: key, value: value, sequence: sequence, at: 0)
            chunks = [chunk]
            changeDirectory {
                $0.prefix = prefix
                $0.filter = filter
            }
            return
        }
        let shared = Self.commonPrefix(prefix, key)
        if shared < prefix.count { shrinkPrefix(to: shared) }
        var (c, i, found) = locate(key)
        if found {
            makeUnique(c)
            let added = value.count
            liveBytes += added - chunks[c].replaceValue(at: i, value, sequence: sequence)
            return
        }
        makeUnique(c)
        if chunks[c].count == chunkLimit {
            let half = split(c)
            if i >= half { (c, i) = (c + 1, i - half) }
        }
        // A full filter is rebuilt from the map's keys, this one's included; else the key goes
        // in now (a copy of the map sharing the filter then sees an extra key: harmless).
        let rebuild = filter.isFull
        if !rebuild { filter.add(key) }
        count += 1
        liveBytes += key.count + value.count
        chunks[c].insert(key: key, value: value, sequence: sequence, at: i)
        if rebuild { rebuildFilter() }
    }

    /// Splits the full, uniquely owned chunk `c` in two halves; the size of the lower one.
    private mutating func split(_ c: Int) -> Int {
        let chunk = chunks[c]
        let half = chunk.count / 2
        let separator = chunk.key(half - 1)
        chunks.insert(chunk.splitOff(from: half, capacity: chunkLimit), at: c + 1)
        changeDirectory {
            $0.insertSeparator(separator, at: c)
        }
        rebase(c)
        rebase(c + 1)
        return half
    }

    /// Shortens `prefix` to `length` bytes (a key that does not share it is going in): the
    /// fences and the end chunks' words are taken after it.
    private mutating func shrinkPrefix(to length: Int) {
        changeDirectory {
            $0.prefix.removeSubrange(length...)
            $0.rebase()
        }
        rebase(0)
        rebase(chunks.count - 1)
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult
    mutating func remove(_ key: [UInt8]) -> Bool {
        guard key.withUnsafeBufferPointer({ filter.mayContain(UnsafeRawPointer($0.baseAddress), $0.count) }) else {
            return false
        }
        let (c, i, found) = locate(key)
        guard found else { return false }
        makeUnique(c)
        let old = chunks[c].remove(at: i)
        count -= 1
        liveBytes -= old.keyCount + old.valueCount
        if count == 0 {
            self = KeyMap(chunkLimit: chunkLimit)
        } else if chunks.count > 1 {
            // Keeps every two neighbours above half a chunk together (an empty chunk goes).
            let n = chunks[c].count
            let half = chunkLimit / 2
            if c > 0 && (n == 0 || chunks[c - 1].count + n <= half) {
                merge(c - 1)
            } else if c + 1 < chunks.count && (n == 0 || n + chunks[c + 1].count <= half) {
                merge(c)
            }
        }
        return true
    }

    /// Merges chunk `c + 1` into chunk `c` (the separator between them goes).
    private mutating func merge(_ c: Int) {
        if chunks[c].count == 0 {
            chunks.remove(at: c)
        } else if chunks[c + 1].count == 0 {
            chunks.remove(at: c + 1)
        } else {
            makeUnique(c)
            chunks[c].append(contentsOf: chunks[c + 1])
            chunks.remove(at: c + 1)
        }
        changeDirectory {
            $0.removeSeparator(at: c)
        }
        rebase(c)
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

    /// Position of the first entry with key >= `key` (`(chunks.count, 0)` when none).
    private func lowerBound(_ key: [UInt8]) -> (chunk: Int, index: Int) {
        guard !chunks.isEmpty else { return (0, 0) }
        let (c, i, _) = locate(key)
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

    /// Checks the structure's invariants; for tests.
    func _checkInvariants() -> Bool { _invariantViolation() == nil }

    /// The first broken invariant, described, or nil: keys sorted and unique, each in its
    /// chunk's range, chunk sizes (no chunk empty or over the limit, every two neighbours above
    /// half a chunk together), every key and separator starting with `prefix`, each fence and
    /// word equal to what the key gives, each chunk's words after its range's common prefix,
    /// the count and byte total.
    func _invariantViolation() -> String? {
        if chunks.isEmpty {
            return count == 0 && liveBytes == 0 && separators.isEmpty && fences.isEmpty && directory.tails.isEmpty
                && filter === KeyFilter.none
                ? nil : "empty map with state"
        }
        if filter === KeyFilter.none { return "a map with keys but no filter" }
        guard separators.count == chunks.count - 1, fences.count == separators.count,
            directory.tails.count == separators.count * KeyMapDirectory.tailBytes
        else {
            return "\(separators.count) separators, \(fences.count) fences for \(chunks.count) chunks"
        }
        func startsWithPrefix(_ key: [UInt8]) -> Bool {
            key.count >= prefix.count && Array(key[0..<prefix.count]) == prefix
        }
        for (i, separator) in separators.enumerated() {
            if !startsWithPrefix(separator) { return "separator \(i) lacks the prefix" }
            if fences[i] != KeyMapChunk.word(separator, from: prefix.count) { return "fence \(i) stale" }
            let tailBytes = KeyMapDirectory.tailBytes
            if Array(directory.tails[i * tailBytes..<(i + 1) * tailBytes])
                != KeyMapDirectory.tail(separator, from: prefix.count)
            {
                return "tail \(i) stale"
            }
            if i > 0 && compareBytes(separators[i - 1], separator) >= 0 {
                return "separators \(i - 1), \(i) out of order"
            }
        }
        var previous: [UInt8]? = nil
        var entries = 0
        var bytes = 0
        for (c, chunk) in chunks.enumerated() {
            if chunk.count == 0 || chunk.count > chunk.entryCapacity || chunk.entryCapacity > chunkLimit {
                return "chunk \(c): \(chunk.count) entries, capacity \(chunk.entryCapacity)"
            }
            if c > 0 && chunks[c - 1].count + chunk.count <= chunkLimit / 2 {
                return "chunks \(c - 1), \(c) together hold only \(chunks[c - 1].count + chunk.count)"
            }
            if let violation = chunk._arenaViolation() { return "chunk \(c): \(violation)" }
            if chunk.prefixLength != rangePrefix(c) {
                return "chunk \(c): words after \(chunk.prefixLength) bytes, range shares \(rangePrefix(c))"
            }
            for i in 0..<chunk.count {
                let key = chunk.key(i)
                if let previous, compareBytes(previous, key) >= 0 { return "chunk \(c) entry \(i) out of order" }
                if !startsWithPrefix(key) { return "chunk \(c) entry \(i) lacks the prefix" }
                if c > 0 && compareBytes(key, separators[c - 1]) <= 0 { return "chunk \(c) entry \(i) below its range" }
                if c < separators.count && compareBytes(key, separators[c]) > 0 {
                    return "chunk \(c) entry \(i) above its range"
                }
                if !chunk._wordMatches(i) { return "chunk \(c) entry \(i): stale word" }
                if !key.withUnsafeBufferPointer({ filter.mayContain(UnsafeRawPointer($0.baseAddress), $0.count) }) {
                    return "chunk \(c) entry \(i) missing from the filter"
                }
                previous = key
                entries += 1
                bytes += key.count + chunk[i].value.count
            }
        }
        if entries != count || bytes != liveBytes {
            return "\(entries) entries of \(bytes) bytes, counted \(count), \(liveBytes)"
        }
        return nil
    }
}
