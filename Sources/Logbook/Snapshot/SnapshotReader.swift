import CLogbookShims

/// An open snapshot: its index in memory, its data file mapped read-only (the kernel's page
/// cache holds it, no system call per read). Each block is checked against its CRC, its index
/// entry and the snapshot's sequence number the first time it is used (every time in
/// `paranoid` mode); an LRU value cache serves the reads it makes cheaper (see `get`).
///
/// Shared by every view that uses this generation; the mapping stays valid (and readable even
/// after compaction deletes the file) until the last view lets go.
final class SnapshotReader: @unchecked Sendable {
    let number: UInt64
    let dataPath: String
    let indexPath: String
    let index: SnapshotFormat.Index
    /// The snapshot's sequence number (the MANIFEST's): no entry in it may be newer.
    let sequence: UInt64
    let blockCount: Int
    private let files: any FileLayer
    private let fd: Int32
    private let paranoid: Bool
    private var base: UnsafeRawPointer?
    private let length: Int
    /// One bit per block: checked already.
    private let checked: UnsafeMutablePointer<UInt64>
    private let cache: Locked<LRUCache<HashedKey, KeyMap.Entry>>
    private let cacheBytes: Int
    /// The index in flat memory for look-ups (no reference counting, no pointer chasing):
    /// `search` (see `SearchIndex`).
    private let search: SearchIndex

    /// Opens snapshot `number` in `directory`: loads and checks the index, checks the data
    /// file's header and size, maps it. `sequence`: the snapshot's sequence number from the
    /// MANIFEST (`UInt64.max` when unknown): a block holding a newer entry is corrupt.
    init(
        files: any FileLayer, directory: String, number: UInt64, sequence: UInt64 = .max, cacheBytes: Int,
        cacheTimeToLive: Double? = nil, paranoid: Bool = false
    ) throws(LogbookError) {
        self.files = files
        self.number = number
        self.sequence = sequence
        self.paranoid = paranoid
        dataPath = directory + "/" + SnapshotFormat.dataName(number)
        indexPath = directory + "/" + SnapshotFormat.indexName(number)
        let indexPath = indexPath
        let indexBytes = try io(indexPath) { () throws(SystemError) in try files.readFile(indexPath) }
        switch SnapshotFormat.decodeIndex(indexBytes) {
        case .success(let index):
            guard index.number == number else {
                throw LogbookError.corrupted("index names snapshot \(index.number)", path: indexPath, offset: 16)
            }
            self.index = index
        case .failure(let error):
            throw LogbookError.corrupted(error.reason, path: indexPath, offset: error.offset)
        }
        length = Int(index.dataSize)
        blockCount = index.blockCount
        self.cacheBytes = cacheBytes
        cache = Locked(LRUCache(capacity: cacheBytes, timeToLive: cacheTimeToLive.map { ProcessLock.nanoseconds($0) }))
        let dataPath = dataPath
        fd = try io(dataPath) { () throws(SystemError) in try files.open(dataPath, .readOnly) }
        search = SearchIndex(index)
        let words = (index.blockCount + 63) / 64
        checked = .allocate(capacity: max(1, words))
        checked.initialize(repeating: 0, count: max(1, words))
        // Every stored property is set: from here on a throw runs deinit, which cleans up.
        let (fd, files) = (fd, files)
        let header = try io(dataPath) { () throws(SystemError) in
            try files.readUpTo(fd, count: SnapshotFormat.dataHeaderSize, at: 0, path: dataPath)
        }
        let size = try io(dataPath) { () throws(SystemError) in try files.size(fd) }
        guard SnapshotFormat.parseDataHeader(header) == number else {
            throw LogbookError.corrupted("invalid snapshot header", path: dataPath, offset: 0)
        }
        guard size == index.dataSize else {
            throw LogbookError.corrupted(
                "snapshot is \(size) bytes where its index says \(index.dataSize)", path: dataPath,
                offset: min(size, index.dataSize))
        }
        let length = length
        base = try io(dataPath) { () throws(SystemError) in try files.mapReadOnly(fd, length: length) }
    }

    deinit {
        if let base { files.unmap(UnsafeMutableRawPointer(mutating: base), length: length) }
        files.close(fd)
        checked.deallocate()
        search.deallocate()
    }

    /// The payload of block `i` in the mapping, checked (framing, CRC, structure, last key,
    /// sequence numbers) the first time, or every time in paranoid mode.
    @inline(__always)
    func payload(_ i: Int) throws(LogbookError) -> UnsafeRawBufferPointer {
        let span = search.spans[i]
        let (word, bit) = (i / 64, UInt64(1) << UInt64(i % 64))
        if let base, !paranoid, lb_atomic_load_u64(checked + word) & bit != 0 {
            return UnsafeRawBufferPointer(
                start: base + span.offset + SnapshotFormat.blockHeaderSize, count: span.length)
        }
        return try check(i)
    }

    /// Checks block `i` and marks it checked; its payload.
    private func check(_ i: Int) throws(LogbookError) -> UnsafeRawBufferPointer {
        let span = search.spans[i]
        let size = SnapshotFormat.blockHeaderSize + span.length
        guard let base, span.offset + size <= length else {
            throw LogbookError.corrupted(
                "snapshot block beyond the end of the file", path: dataPath, offset: UInt64(span.offset))
        }
        let block = UnsafeRawBufferPointer(start: base + span.offset, count: size)
        let payload = UnsafeRawBufferPointer(rebasing: block[SnapshotFormat.blockHeaderSize...])
        guard UInt32(littleEndian: block.loadUnaligned(as: UInt32.self)) == UInt32(span.length),
            UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) == CRC32C.checksum(payload)
        else {
            throw LogbookError.corrupted(
                "snapshot block checksum mismatch", path: dataPath, offset: UInt64(span.offset))
        }
        switch SnapshotFormat.checkBlock(
            payload, expectedCount: span.count, lastKey: search.lastKey(i), maxSequence: sequence)
        {
        case .valid:
            break
        case .malformed:
            throw LogbookError.corrupted(
                "snapshot block checksum mismatch", path: dataPath, offset: UInt64(span.offset))
        case .newer(let newer):
            throw LogbookError.corrupted(
                "snapshot entry with sequence \(newer) beyond the snapshot's \(sequence)", path: dataPath,
                offset: UInt64(span.offset))
        }
        search.recordEntries(i, payload)
        let (word, bit) = (i / 64, UInt64(1) << UInt64(i % 64))
        _ = lb_atomic_fetch_or_u64(checked + word, bit)
        return payload
    }

    /// Reads and checks block `i` in full (CRC every time), decoded; for verify.
    func readBlock(_ i: Int) throws(LogbookError) -> [KeyMap.Entry] {
        let payload = try payload(i)
        let span = index.spans[i]
        guard
            CRC32C.checksum(payload) == UInt32(littleEndian: (payload.baseAddress! - 4).loadUnaligned(as: UInt32.self)),
            let entries = SnapshotFormat.decodeBlock(payload, expectedCount: Int(span.count))
        else {
            throw LogbookError.corrupted("snapshot block checksum mismatch", path: dataPath, offset: span.offset)
        }
        return entries
    }

    /// Index of the first block whose last key is >= `key` (`blockCount` when none).
    func blockIndex(atOrAfter key: [UInt8]) -> Int {
        key.withUnsafeBytes { search.firstBlock(atOrAfter: $0) }
    }

    /// Values at least this long go through the value cache even when their block is checked
    /// already: a hit hands out the cached array instead of copying the value out of the mapping.
    /// Shorter ones cost less to copy than a cache look-up (and, at the hit rates of random
    /// reads, much less than a miss's insertion).
    static let cachedValueMinimum = 16 << 10

    /// The entry for `key`, or nil. A checked block in the mapping is read in place and short
    /// values are copied straight out of it; the value cache serves the gets that would cost
    /// more without it: every get in `paranoid` mode (a hit skips checking the block again)
    /// and values of at least `cachedValueMinimum` bytes (a hit skips the copy).
    func get(_ key: [UInt8]) throws(LogbookError) -> KeyMap.Entry? {
        let useCache = cacheBytes > 0
        if useCache && paranoid {
            if let hit = cache.withLock({ $0.get(HashedKey(key)) }) { return hit }
            guard let found = try find(key, copyingUpTo: .max) else { return nil }
            return remember(key, found.value ?? [], found.sequence)
        }
        guard let found = try find(key, copyingUpTo: useCache ? Self.cachedValueMinimum - 1 : .max) else { return nil }
        if let value = found.value { return KeyMap.Entry(key: key, value: value, sequence: found.sequence) }
        // A long value: the cache's copy if it has one, else a copy that it keeps.
        if let hit = cache.withLock({ $0.get(HashedKey(key)) }) { return hit }
        let value = try find(key, copyingUpTo: .max)?.value ?? []
        return remember(key, value, found.sequence)
    }

    /// The value of `key`, or nil: `get` without making an entry.
    func value(_ key: [UInt8]) throws(LogbookError) -> [UInt8]? {
        if cacheBytes > 0 && paranoid { return try get(key)?.value }
        return try value(key, found: try locate(key))
    }

    /// `value(key)` from the entry the look-up's steps found for it (see `startLookUp`); not in
    /// paranoid mode with a value cache (`stepsLookUps`).
    @inline(__always)
    func value(
        _ key: [UInt8], found: (value: UnsafeRawBufferPointer, sequence: UInt64)?
    ) throws(LogbookError) -> [UInt8]? {
        guard let found else { return nil }
        // A long value: through the cache.
        if cacheBytes > 0 && found.value.count >= Self.cachedValueMinimum { return try get(key)?.value }
        return [UInt8](found.value)
    }

    /// Whether `value(key)` is the look-up's steps and `value(_:found:)`: all but paranoid
    /// mode with a value cache, which serves every get from the cache first.
    var stepsLookUps: Bool { !(cacheBytes > 0 && paranoid) }

    private func remember(_ key: [UInt8], _ value: [UInt8], _ sequence: UInt64) -> KeyMap.Entry {
        let entry = KeyMap.Entry(key: key, value: value, sequence: sequence)
        cache.withLock { $0.put(HashedKey(key), entry, cost: 64 + key.count + value.count) }
        return entry
    }

    /// `body` on the value of `key` read where it lies, valid during the call: in the mapping,
    /// or the value cache's copy where `get` would serve one in `paranoid` mode; nil when the
    /// key is absent (and `body` is not called).
    func withValue<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        if cacheBytes > 0 && paranoid {
            guard let entry = try get(key) else { return nil }
            return try entry.value.withUnsafeBytes(body)
        }
        guard let found = try locate(key) else { return nil }
        return try body(found.value)
    }

    /// The sequence number of `key` in the snapshot and its value copied out of the mapping,
    /// unless it is longer than `limit` bytes (then nil); nil when the key is absent.
    @inline(__always)
    private func find(
        _ key: [UInt8], copyingUpTo limit: Int
    ) throws(LogbookError) -> (value: [UInt8]?, sequence: UInt64)? {
        guard let found = try locate(key) else { return nil }
        guard found.value.count <= limit else { return (nil, found.sequence) }
        // Built from a buffer, not with `unsafeUninitializedCapacity`: that one allocates
        // through an unspecialized library call that looks up the array's generic type
        // metadata on every call (~500 instructions, more than the rest of a look-up).
        return ([UInt8](found.value), found.sequence)
    }

    /// The value of `key` in the mapping (valid while this reader lives) and its sequence
    /// number; nil when the key is absent.
    @inline(__always)
    private func locate(_ key: [UInt8]) throws(LogbookError) -> (value: UnsafeRawBufferPointer, sequence: UInt64)? {
        guard let (payload, start) = try candidate(key, inBlock: startLookUp(key)) else { return nil }
        return entry(key, in: payload, from: start)
    }

    // MARK: a look-up in three steps: `locate`'s, and `View.values`', which takes each step for
    // several keys before the next, so that their memory misses overlap.

    /// Step 1: the block that can hold `key` (`blockCount`: none). The entry is found in the
    /// block's words first: their cache fills are started, with the page walks for the block's
    /// (usually two) pages of the mapping, before the words are read.
    @inline(__always)
    func startLookUp(_ key: [UInt8]) -> Int {
        let b = key.withUnsafeBytes { search.firstBlock(atOrAfter: $0) }
        guard b < blockCount else { return b }
        let span = search.spans[b]
        search.prefetchEntryWords(span)
        if let base {
            let start = span.offset &+ SnapshotFormat.blockHeaderSize
            lb_prefetch(base + start)
            lb_prefetch(base + (start &+ span.length &- 1))
        }
        return b
    }

    /// Step 2: block `b`'s payload, checked, and where in it the walk for `key` starts (its
    /// entry's cache fills started); nil when the key is not in the block.
    @inline(__always)
    func candidate(
        _ key: [UInt8], inBlock b: Int
    ) throws(LogbookError) -> (payload: UnsafeRawBufferPointer, start: Int)? {
        guard b < blockCount else { return nil }
        let span = search.spans[b]
        let payload = try payload(b)
        guard span.offsets >= 0 else { return (payload, 0) }
        return key.withUnsafeBytes { k in
            guard let position = search.candidate(span, for: k, in: payload) else { return nil }
            // The entry's first three cache lines (a short key and a 100-byte value span two or
            // three), asked for together: +4-11% on gets that miss the cache.
            let p = payload.baseAddress!
            lb_prefetch(p + position)
            lb_prefetch(p + (position &+ 64))
            lb_prefetch(p + (position &+ 127))
            return (payload, position)
        }
    }

    /// Step 3: the entry for `key` in a checked block's payload, walking from `start` in key
    /// order; nil when absent.
    @inline(__always)
    func entry(
        _ key: [UInt8], in payload: UnsafeRawBufferPointer, from start: Int
    ) -> (value: UnsafeRawBufferPointer, sequence: UInt64)? {
        key.withUnsafeBytes { k in
            // The block is checked: every entry's lengths lie within it.
            let p = payload.baseAddress!
            let end = payload.count
            var offset = start
            while offset &+ SnapshotFormat.entryHeaderSize <= end {
                let keyLength = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                let valueLength = Int(
                    UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset &+ 2, as: UInt32.self)))
                let keyStart = offset &+ SnapshotFormat.entryHeaderSize
                let valueStart = keyStart &+ keyLength
                offset = valueStart &+ valueLength
                let order = compareRaw(p + keyStart, keyLength, k.baseAddress, k.count)
                if order < 0 { continue }
                if order > 0 || offset > end { return nil }
                let sequence = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: keyStart &- 8, as: UInt64.self))
                return (UnsafeRawBufferPointer(start: p + valueStart, count: valueLength), sequence)
            }
            return nil
        }
    }

    var cacheFigures: (bytes: Int, hits: UInt64, misses: UInt64, evictions: UInt64) {
        cache.withLock { ($0.bytes, $0.hits, $0.misses, $0.evictions) }
    }
}

/// A snapshot index laid out for searching: each block's position in one array, its last key
/// back to back with the others in one buffer, and the eight bytes of each last key after the
/// prefix they all share as a big-endian word, so that most steps of the binary search compare
/// two integers in one small array.
struct SearchIndex {
    struct Span {
        var offset: Int
        var length: Int
        var count: Int
        /// First of the block's words in `SearchIndex.entryWords`; -1 when the block keeps none
        /// (one entry, or too long for 16-bit offsets).
        var offsets: Int
    }

    let count: Int
    let spans: UnsafeMutablePointer<Span>
    /// Bytes `prefixLength..<prefixLength + 8` of each last key (zero-padded), big-endian.
    private let words: UnsafeMutablePointer<UInt64>
    /// Per block, of its run of blocks with equal words (structured keys tie there: every
    /// block of the agent layer's task records has `t/T-2026`), the length of the prefix the
    /// run's last keys share, and its last key's word after that prefix: `firstBlock` searches
    /// a run by these words in memory, as it searches all blocks by `words`, instead of by
    /// whole keys. 12 bytes a block.
    private let runShared: UnsafeMutablePointer<Int32>
    private let runWords: UnsafeMutablePointer<UInt64>
    /// Every last key, back to back; key `i` ends at `ends[i]` and starts where key `i - 1` ends.
    private let keys: UnsafeMutableRawPointer
    private let ends: UnsafeMutablePointer<Int>
    /// Length of the prefix every last key shares.
    private let prefixLength: Int
    /// Per checked block (see `recordEntries`), filled when the block is checked, before it is
    /// marked checked, so that a look-up binary-searches words in memory instead of walking
    /// the block. Atomic word access: threads that check one block at the same time store the
    /// same values. 8 bytes an entry, plus 8 a block.
    private let entryWords: UnsafeMutablePointer<UInt64>

    init(_ index: SnapshotFormat.Index) {
        count = index.blockCount
        spans = .allocate(capacity: max(1, count))
        words = .allocate(capacity: max(1, count))
        runShared = .allocate(capacity: max(1, count))
        runWords = .allocate(capacity: max(1, count))
        ends = .allocate(capacity: max(1, count))
        let total = index.lastKeys.count
        var offsetWords = 0
        for i in 0..<count {
            // Offsets only for blocks that can hold their claimed count (an entry takes at least
            // 15 bytes), so a damaged index cannot make this allocate more than the data's size.
            let block = index.spans[i]
            let count = Int(block.count)
            let indexed = count > 1 && block.length <= UInt32(UInt16.max) && count <= Int(block.length) / 15
            spans[i] = Span(
                offset: Int(block.offset), length: Int(block.length), count: count,
                offsets: indexed ? offsetWords : -1)
            if indexed { offsetWords += 1 + count }
            ends[i] = index.keyEnds[i]
        }
        // Not zero-filled: a block's words are read only after `recordEntries` wrote them, and
        // filling them at open wrote 8 bytes per entry of the snapshot (2 MB, 500 page faults
        // for 250,000 keys) where a CLI run reads a block or two.
        entryWords = .allocate(capacity: max(1, offsetWords))
        let keys = UnsafeMutableRawPointer.allocate(byteCount: max(1, total), alignment: 8)
        index.lastKeys.withUnsafeBytes {
            if let source = $0.baseAddress { keys.copyMemory(from: source, byteCount: total) }
        }
        self.keys = keys
        var prefix = 0
        if count > 0 {
            // Keys are sorted: what the first and last share, all share.
            let (first, last) = (index.lastKeyRange(0), index.lastKeyRange(count - 1))
            let bytes = index.lastKeys
            while prefix < min(first.count, last.count)
                && bytes[first.lowerBound + prefix] == bytes[last.lowerBound + prefix]
            {
                prefix += 1
            }
        }
        prefixLength = prefix
        for i in 0..<count { words[i] = Self.word(lastKey(i), from: prefix) }
        var start = 0
        while start < count {
            var end = start + 1
            while end < count && words[end] == words[start] { end += 1 }
            let (first, last) = (lastKey(start), lastKey(end - 1))
            var shared = 0
            while shared < min(first.count, last.count) && first[shared] == last[shared] { shared += 1 }
            for i in start..<end {
                runShared[i] = Int32(truncatingIfNeeded: shared)
                runWords[i] = Self.word(lastKey(i), from: shared)
            }
            start = end
        }
    }

    func deallocate() {
        entryWords.deallocate()
        spans.deallocate()
        words.deallocate()
        runShared.deallocate()
        runWords.deallocate()
        keys.deallocate()
        ends.deallocate()
    }

    /// Bytes `from..<from + 8` of `key` (zero past its end) as a big-endian number: if two keys
    /// that share their first `from` bytes have different words, their words are in key order.
    @inline(__always)
    private static func word(_ key: UnsafeRawBufferPointer, from: Int) -> UInt64 {
        let available = key.count - from
        if available >= 8 { return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: from, as: UInt64.self)) }
        if available > 0 && key.count >= 8 {
            // The last eight bytes of the key, shifted so that its byte `from` leads.
            let tail = UInt64(bigEndian: key.loadUnaligned(fromByteOffset: key.count - 8, as: UInt64.self))
            return tail &<< UInt64(8 * (8 - available))
        }
        var word: UInt64 = 0
        var i = 0
        while i < available {
            word |= UInt64(key[from + i]) << UInt64(56 - 8 * i)
            i += 1
        }
        return word
    }

    /// Last key of block `i`.
    @inline(__always)
    func lastKey(_ i: Int) -> UnsafeRawBufferPointer {
        let start = i == 0 ? 0 : ends[i - 1]
        return UnsafeRawBufferPointer(start: keys + start, count: ends[i] - start)
    }

    /// Word 0's flag: every key that `firstBlock` sends to the block shares the block's prefix
    /// (see `recordEntries`), so a look-up need not check it.
    private static let rangeShared: UInt64 = 1 << 32

    /// Records block `i`'s entries (checked: well framed, with the span's count of entries):
    /// word 0 the length of a prefix all its keys share, then per entry the six key bytes
    /// after that prefix (zero-padded, big-endian) over its 16-bit offset in the payload.
    ///
    /// The prefix is the one the last keys of blocks `i - 1` and `i` share when the block's
    /// keys lie between them (always, in a snapshot that is not damaged): every key looked up
    /// in the block lies there too and shares it, so a look-up reads no payload to check it
    /// (word 0 carries `rangeShared`). Block 0, and a block whose first key is not after the
    /// previous block's last, use what their first and last keys share, checked per look-up.
    func recordEntries(_ i: Int, _ payload: UnsafeRawBufferPointer) {
        let span = spans[i]
        guard span.offsets >= 0 else { return }
        let p = payload.baseAddress!
        let firstLength = Int(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
        let first = UnsafeRawBufferPointer(start: p + SnapshotFormat.entryHeaderSize, count: firstLength)
        let last = lastKey(i)  // the block's last key, as checked
        var shared = 0
        var flag: UInt64 = 0
        if i > 0, case let below = lastKey(i - 1),
            compareRaw(below.baseAddress, below.count, first.baseAddress, first.count) < 0
        {
            while shared < min(below.count, last.count) && below[shared] == last[shared] { shared += 1 }
            flag = Self.rangeShared
        } else {
            while shared < min(first.count, last.count) && first[shared] == last[shared] { shared += 1 }
        }
        lb_atomic_store_u64(entryWords + span.offsets, UInt64(shared) | flag)
        var offset = 0
        for j in 0..<span.count {
            let keyLength = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            let valueLength = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset + 2, as: UInt32.self)))
            let key = UnsafeRawBufferPointer(start: p + offset + SnapshotFormat.entryHeaderSize, count: keyLength)
            let word = (Self.word(key, from: shared) & ~0xFFFF) | UInt64(offset)
            lb_atomic_store_u64(entryWords + span.offsets + 1 + j, word)
            offset += SnapshotFormat.entryHeaderSize + keyLength + valueLength
        }
    }

    /// Starts the cache fills of a block's words (see `recordEntries`).
    @inline(__always)
    func prefetchEntryWords(_ span: Span) {
        guard span.offsets >= 0 else { return }
        var i = 0
        // One prefetch per 64-byte line of words.
        while i <= span.count {
            lb_prefetch(entryWords + span.offsets + i)
            i &+= 8
        }
    }

    /// Offset in the payload of the first entry of a recorded block that can be `key` (the
    /// entries after it that share its six bytes can be too: the caller walks on in key order);
    /// nil when the block cannot hold it. Searches the block's words in memory: the payload is
    /// read only in block 0, to check the block's prefix, so a key that is absent is mostly told
    /// without touching the payload.
    @inline(__always)
    func candidate(_ span: Span, for key: UnsafeRawBufferPointer, in payload: UnsafeRawBufferPointer) -> Int? {
        let words = UnsafePointer(entryWords + span.offsets)
        let header = lb_atomic_load_u64(words)
        let shared = Int(truncatingIfNeeded: header & 0xFFFF_FFFF)
        let p = payload.baseAddress!
        if header & Self.rangeShared == 0 {
            // Every key of the block starts with `shared` bytes of its first key.
            let n = min(shared, key.count)
            let order = compareRaw(key.baseAddress, n, p + SnapshotFormat.entryHeaderSize, n)
            if order != 0 || key.count < shared { return nil }
        }
        let target = Self.word(key, from: shared) & ~0xFFFF
        // A word is below `target` exactly when its six key bytes are: the offset below them
        // cannot make up for a difference above.
        let first = firstWord(atLeast: target, count: span.count) { lb_atomic_load_u64(words + 1 + $0) }
        guard first < span.count else { return nil }
        let word = lb_atomic_load_u64(words + 1 + first)
        return word & ~0xFFFF == target ? Int(truncatingIfNeeded: word & 0xFFFF) : nil
    }

    /// Index of the first block whose last key is >= `key` (`count` when none).
    func firstBlock(atOrAfter key: UnsafeRawBufferPointer) -> Int {
        guard count > 0 else { return 0 }
        // Against the shared prefix first: a key outside it is before or after every block.
        let shared = min(prefixLength, key.count)
        let order = compareRaw(key.baseAddress, shared, keys, shared)
        if order < 0 || (order == 0 && key.count < prefixLength) { return 0 }
        if order > 0 { return count }
        let target = Self.word(key, from: prefixLength)
        var low = firstWord(atLeast: target, count: count) { words[$0] }
        guard low < count, words[low] == target else { return low }
        // Last keys with the key's word: their bytes after it decide.
        var high = target == .max ? count : firstWord(atLeast: target &+ 1, count: count) { words[$0] }
        let runPrefix = Int(runShared[low])
        if high - low > 1 && runPrefix >= prefixLength + 8 {
            // The run's last keys share `runPrefix` bytes (more than the word): against those
            // first, then their words after them, as above.
            let first = lastKey(low)
            let n = min(runPrefix, key.count)
            let order = compareRaw(key.baseAddress, n, first.baseAddress, n)
            if order < 0 || (order == 0 && key.count < runPrefix) { return low }
            if order > 0 { return high }
            let target = Self.word(key, from: runPrefix)
            let run = low
            low = run + firstWord(atLeast: target, count: high - run) { runWords[run + $0] }
            guard low < high, runWords[low] == target else { return low }
            if target < .max { high = run + firstWord(atLeast: target &+ 1, count: high - run) { runWords[run + $0] } }
        }
        while low < high {
            let mid = (low &+ high) &>> 1
            let last = lastKey(mid)
            if compareRaw(last.baseAddress, last.count, key.baseAddress, key.count) < 0 {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }
}

/// Walks the entries of one checked block payload without copying.
struct BlockCursor {
    struct Position {
        var key: UnsafeRawBufferPointer
        var value: UnsafeRawBufferPointer
        var sequence: UInt64
    }

    let payload: UnsafeRawBufferPointer
    var offset = 0

    init(_ payload: UnsafeRawBufferPointer) { self.payload = payload }

    /// The next entry, or nil at the end (or at bytes that do not frame an entry).
    mutating func nextPosition() -> Position? {
        guard offset + SnapshotFormat.entryHeaderSize <= payload.count else { return nil }
        let keyLength = Int(UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        let valueLength = Int(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 2, as: UInt32.self)))
        let sequence = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 6, as: UInt64.self))
        let keyStart = offset + SnapshotFormat.entryHeaderSize
        guard keyStart + keyLength + valueLength <= payload.count else { return nil }
        offset = keyStart + keyLength + valueLength
        return Position(
            key: UnsafeRawBufferPointer(rebasing: payload[keyStart..<keyStart + keyLength]),
            value: UnsafeRawBufferPointer(rebasing: payload[(keyStart + keyLength)..<offset]), sequence: sequence)
    }
}

/// Walks a snapshot's entries in `lower <= key < upper`, forwards or backwards.
struct SnapshotCursor {
    let reader: SnapshotReader
    let lower: [UInt8]?
    let upper: [UInt8]?
    let reverse: Bool
    private var blockNumber: Int
    private var positions: [BlockCursor.Position] = []
    private var index = 0
    private var started = false

    init(_ reader: SnapshotReader, lower: [UInt8]?, upper: [UInt8]?, reverse: Bool) {
        self.reader = reader
        self.lower = lower
        self.upper = upper
        self.reverse = reverse
        if reverse {
            blockNumber =
                upper.map { min(reader.blockIndex(atOrAfter: $0), reader.blockCount - 1) } ?? reader.blockCount - 1
        } else {
            blockNumber = lower.map { reader.blockIndex(atOrAfter: $0) } ?? 0
        }
    }

    private mutating func load() throws(LogbookError) -> Bool {
        guard blockNumber >= 0 && blockNumber < reader.blockCount else { return false }
        var cursor = BlockCursor(try reader.payload(blockNumber))
        positions.removeAll(keepingCapacity: true)
        while let position = cursor.nextPosition() { positions.append(position) }
        index = reverse ? positions.count - 1 : 0
        return true
    }

    private static func compare(_ key: UnsafeRawBufferPointer, _ bound: [UInt8]) -> Int32 {
        bound.withUnsafeBufferPointer { b in compareRaw(key.baseAddress, key.count, b.baseAddress, b.count) }
    }

    mutating func next() throws(LogbookError) -> KeyMap.Entry? {
        guard let position = try nextPosition() else { return nil }
        return KeyMap.Entry(key: Array(position.key), value: Array(position.value), sequence: position.sequence)
    }

    /// The next entry in place: its bytes lie in the reader's mapping, valid while the reader is.
    mutating func nextPosition() throws(LogbookError) -> BlockCursor.Position? {
        if !started {
            started = true
            guard try load() else { return nil }
            if reverse, let upper {
                while index >= 0 && Self.compare(positions[index].key, upper) >= 0 { index -= 1 }
            } else if !reverse, let lower {
                while index < positions.count && Self.compare(positions[index].key, lower) < 0 { index += 1 }
            }
        }
        while true {
            if reverse {
                if index >= 0 {
                    let position = positions[index]
                    index -= 1
                    if let lower, Self.compare(position.key, lower) < 0 { return nil }
                    return position
                }
                blockNumber -= 1
            } else {
                if index < positions.count {
                    let position = positions[index]
                    index += 1
                    if let upper, Self.compare(position.key, upper) >= 0 { return nil }
                    return position
                }
                blockNumber += 1
            }
            guard try load() else { return nil }
        }
    }
}

extension SnapshotFormat {
    /// For the fuzz targets: the block `SnapshotReader` searches first for each of `probes` (the
    /// first whose last key is at or after it) over `index`, whose last keys must ascend.
    @_spi(Testing) public static func firstBlocks(in index: Index, for probes: [[UInt8]]) -> [Int] {
        let search = SearchIndex(index)
        defer { search.deallocate() }
        return probes.map { probe in probe.withUnsafeBytes { search.firstBlock(atOrAfter: $0) } }
    }
}
