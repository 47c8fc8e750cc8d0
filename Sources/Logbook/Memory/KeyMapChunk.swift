import CLogbookShims

/// One chunk of a `KeyMap`: up to `capacity` (at most 256) entries, each one record in the
/// chunk's arena (a buffer of its own, see `Record`): the sequence number, the lengths, the key
/// and the value side by side. Two packed arrays in key order give each position's search word
/// (see `KeyMapChunk.word`) and its record's offset in the arena, so that a binary search reads
/// words from one small array and dereferences a key only to break a tie, an insert shifts
/// twelve bytes a position, and a get finds the value in the record it found the key in.
///
/// Layout of the tail allocation: `capacity` words, then `capacity` offsets (4 bytes each,
/// padded to 8 bytes). Records are handed out from the arena's start; one removed, or moved by
/// a larger value, leaves its bytes behind as garbage, which the next growth of the arena drops
/// (the live records are copied, in key order, into a new one), or a removal that leaves the
/// arena more than half garbage. One buffer a chunk instead of two heap objects an entry: a
/// third less memory, and freeing a memtable gives back large blocks (Docs/Benchmarks.md). A
/// chunk is shared by the copies of a map and is written only when uniquely referenced
/// (`KeyMap` copies it first otherwise), so that readers holding a copy never see it change.
final class KeyMapChunk: ManagedBuffer<KeyMapChunk.Header, UInt64> {
    struct Header {
        /// Entries in use.
        var count: Int
        /// Every key the chunk may hold (see `KeyMap`) starts with the same this many bytes; the
        /// words are taken after them. `noWords` while the words are not computed.
        var prefixLength: Int
        /// Entries the allocation has room for.
        let capacity: Int
        /// The records (nil while there is no room for any).
        var arena: UnsafeMutableRawPointer?
        var arenaCapacity: Int
        /// Bytes of the arena handed out, from its start: the records and the garbage among them.
        var arenaUsed: Int
        /// Bytes of `arenaUsed` that no entry uses.
        var garbage: Int
        /// Records whose value is an array of its own.
        var boxed: Int
    }

    /// `Header.prefixLength` of a chunk whose words are stale.
    static let noWords = -1

    /// Most entries a chunk holds.
    static let maxCapacity = 256

    /// One entry in the arena, 8-byte aligned: the sequence number (8 bytes), the key's length
    /// (4), the value's length or `boxedMark` (4), the key, then the value. A value longer than
    /// `inlineValueLimit` stays an array of its own, held by the record (after the key, aligned):
    /// a chunk is copied when a writer finds it shared, and moved when it grows, so large values
    /// are referenced, not carried.
    enum Record {
        static let headerSize = 16
        static let inlineValueLimit = 512
        static let boxedMark = UInt32.max

        @inline(__always)
        static func aligned(_ n: Int) -> Int { (n &+ 7) & ~7 }

        /// Bytes a record of a key and value of these lengths takes.
        @inline(__always)
        static func size(keyCount: Int, valueCount: Int) -> Int {
            valueCount > inlineValueLimit
                ? aligned(headerSize &+ keyCount) &+ MemoryLayout<[UInt8]>.stride
                : aligned(headerSize &+ keyCount &+ valueCount)
        }

        @inline(__always)
        static func sequence(_ r: UnsafeRawPointer) -> UInt64 { r.load(as: UInt64.self) }

        @inline(__always)
        static func keyCount(_ r: UnsafeRawPointer) -> Int { Int(r.load(fromByteOffset: 8, as: UInt32.self)) }

        @inline(__always)
        static func isBoxed(_ r: UnsafeRawPointer) -> Bool { r.load(fromByteOffset: 12, as: UInt32.self) == boxedMark }

        @inline(__always)
        static func key(_ r: UnsafeRawPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: r + headerSize, count: keyCount(r))
        }

        /// The array a boxed record holds.
        @inline(__always)
        static func box(_ r: UnsafeRawPointer) -> UnsafeMutablePointer<[UInt8]> {
            UnsafeMutableRawPointer(mutating: r + aligned(headerSize &+ keyCount(r))).assumingMemoryBound(
                to: [UInt8].self)
        }

        @inline(__always)
        static func valueCount(_ r: UnsafeRawPointer) -> Int {
            isBoxed(r) ? box(r).pointee.count : Int(r.load(fromByteOffset: 12, as: UInt32.self))
        }

        @inline(__always)
        static func size(_ r: UnsafeRawPointer) -> Int {
            isBoxed(r)
                ? aligned(headerSize &+ keyCount(r)) &+ MemoryLayout<[UInt8]>.stride
                : aligned(headerSize &+ keyCount(r) &+ Int(r.load(fromByteOffset: 12, as: UInt32.self)))
        }

        /// The value, as an array (a copy unless boxed).
        @inline(__always)
        static func value(_ r: UnsafeRawPointer) -> [UInt8] {
            if isBoxed(r) { return box(r).pointee }
            // Built from a buffer, not with `unsafeUninitializedCapacity`: that one allocates
            // through an unspecialized library call (see `SnapshotReader.find`).
            return [UInt8](
                UnsafeRawBufferPointer(
                    start: r + (headerSize &+ keyCount(r)), count: Int(r.load(fromByteOffset: 12, as: UInt32.self))))
        }

        /// `body` on the value's bytes, read in place.
        @inline(__always)
        static func withValue<R>(_ r: UnsafeRawPointer, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            if isBoxed(r) { return try box(r).pointee.withUnsafeBytes(body) }
            return try body(
                UnsafeRawBufferPointer(
                    start: r + (headerSize &+ keyCount(r)), count: Int(r.load(fromByteOffset: 12, as: UInt32.self))))
        }

        /// Writes a record at `r` (room for `size(keyCount:valueCount:)` bytes).
        @inline(__always)
        static func write(_ r: UnsafeMutableRawPointer, key: UnsafeRawBufferPointer, value: [UInt8], sequence: UInt64) {
            if value.count > inlineValueLimit {
                writeHead(r, key: key, valueField: boxedMark, sequence: sequence)
                (r + aligned(headerSize &+ key.count)).initializeMemory(as: [UInt8].self, repeating: value, count: 1)
            } else {
                value.withUnsafeBytes { write(r, key: key, value: $0, sequence: sequence) }
            }
        }

        /// Writes a record at `r` of a value given as bytes (copied into an array of its own
        /// when longer than `inlineValueLimit`).
        @inline(__always)
        static func write(
            _ r: UnsafeMutableRawPointer, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, sequence: UInt64
        ) {
            if value.count > inlineValueLimit { return write(r, key: key, value: [UInt8](value), sequence: sequence) }
            writeHead(r, key: key, valueField: UInt32(truncatingIfNeeded: value.count), sequence: sequence)
            if let source = value.baseAddress, value.count > 0 {
                (r + (headerSize &+ key.count)).copyMemory(from: source, byteCount: value.count)
            }
        }

        /// The sequence number, the lengths and the key.
        @inline(__always)
        private static func writeHead(
            _ r: UnsafeMutableRawPointer, key: UnsafeRawBufferPointer, valueField: UInt32, sequence: UInt64
        ) {
            r.storeBytes(of: sequence, as: UInt64.self)
            r.storeBytes(of: UInt32(truncatingIfNeeded: key.count), toByteOffset: 8, as: UInt32.self)
            r.storeBytes(of: valueField, toByteOffset: 12, as: UInt32.self)
            if let source = key.baseAddress, key.count > 0 {
                (r + headerSize).copyMemory(from: source, byteCount: key.count)
            }
        }

        /// Copies the record at `source` to `destination`; a boxed value is shared (retained).
        @inline(__always)
        static func copy(_ source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer) -> Int {
            let size = size(source)
            if isBoxed(source) {
                let head = aligned(headerSize &+ keyCount(source))
                destination.copyMemory(from: source, byteCount: head)
                (destination + head).initializeMemory(as: [UInt8].self, repeating: box(source).pointee, count: 1)
            } else {
                destination.copyMemory(from: source, byteCount: size)
            }
            return size
        }
    }

    /// An empty chunk with room for `capacity` entries and `arenaBytes` bytes of records.
    static func make(capacity: Int, prefixLength: Int, arenaBytes: Int) -> KeyMapChunk {
        precondition(capacity > 0 && capacity <= Self.maxCapacity)
        let buffer = create(minimumCapacity: capacity + offsetWords(capacity)) { _ in
            Header(
                count: 0, prefixLength: prefixLength, capacity: capacity,
                arena: arenaBytes > 0 ? .allocate(byteCount: arenaBytes, alignment: 8) : nil,
                arenaCapacity: arenaBytes, arenaUsed: 0, garbage: 0, boxed: 0)
        }
        let chunk = unsafeDowncast(buffer, to: KeyMapChunk.self)
        chunk.withUnsafeMutablePointerToElements { words in
            _ = UnsafeMutableRawPointer(words + capacity).bindMemory(to: UInt32.self, capacity: capacity)
        }
        return chunk
    }

    /// 8-byte words the offsets of a chunk of `capacity` take.
    @inline(__always)
    static func offsetWords(_ capacity: Int) -> Int { (capacity &+ 1) &>> 1 }

    deinit {
        withUnsafeMutablePointers { header, words in
            guard let arena = header.pointee.arena else { return }
            if header.pointee.boxed > 0 {
                let offsets = Self.offsets(words, header.pointee.capacity)
                for i in 0..<header.pointee.count {
                    let r = arena + Int(offsets[i])
                    if Record.isBoxed(r) { Record.box(r).deinitialize(count: 1) }
                }
            }
            arena.deallocate()
        }
    }

    /// `offsets[i]`: where the record of the entry at position `i` in key order starts.
    @inline(__always)
    static func offsets(_ words: UnsafeMutablePointer<UInt64>, _ capacity: Int) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(words + capacity).assumingMemoryBound(to: UInt32.self)
    }

    /// The record of the entry at position `i` in key order.
    @inline(__always)
    static func record(_ header: UnsafeMutablePointer<Header>, _ words: UnsafeMutablePointer<UInt64>, _ i: Int)
        -> UnsafeMutableRawPointer
    {
        header.pointee.arena.unsafelyUnwrapped + Int(offsets(words, header.pointee.capacity)[i])
    }

    // Through the header pointer: `header` itself is a class property, and each access to it
    // would pay a dynamic exclusivity check.

    @inline(__always)
    var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }

    @inline(__always)
    var prefixLength: Int { withUnsafeMutablePointerToHeader { $0.pointee.prefixLength } }

    @inline(__always)
    var entryCapacity: Int { withUnsafeMutablePointerToHeader { $0.pointee.capacity } }

    /// Entry `i` (< count) in key order, copied out.
    subscript(i: Int) -> KeyMap.Entry {
        withUnsafeMutablePointers { header, words in
            let r = Self.record(header, words, i)
            return KeyMap.Entry(key: [UInt8](Record.key(r)), value: Record.value(r), sequence: Record.sequence(r))
        }
    }

    /// Value of entry `i` (< count) in key order.
    @inline(__always)
    func value(_ i: Int) -> [UInt8] {
        withUnsafeMutablePointers { header, words in Record.value(Self.record(header, words, i)) }
    }

    /// `body` on the value of entry `i` (< count) in key order, read in place.
    @inline(__always)
    func withValue<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeMutablePointers { header, words in try Record.withValue(Self.record(header, words, i), body) }
    }

    /// Key of entry `i` (< count) in key order.
    @inline(__always)
    func key(_ i: Int) -> [UInt8] {
        withUnsafeMutablePointers { header, words in [UInt8](Record.key(Self.record(header, words, i))) }
    }

    /// Calls `body` with the key, value and sequence number of each entry from position `start`
    /// on, in key order, read in place, until it returns false; returns whether it went through
    /// all of them.
    @inline(__always)
    func forEachInPlace(
        from start: Int = 0, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UInt64) -> Bool
    ) -> Bool {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            guard start < count else { return true }
            let arena = header.pointee.arena.unsafelyUnwrapped
            let offsets = Self.offsets(words, header.pointee.capacity)
            // Records are in key order after a growth of the arena, in insertion order in between:
            // ask for a few ahead, so that their cache misses overlap.
            let ahead = 4
            for i in start..<min(count, start &+ ahead) { lb_prefetch(arena + Int(offsets[i])) }
            for i in start..<count {
                if i &+ ahead < count { lb_prefetch(arena + Int(offsets[i &+ ahead])) }
                let r = arena + Int(offsets[i])
                let more = Record.withValue(r) { value in body(Record.key(r), value, Record.sequence(r)) }
                if !more { return false }
            }
            return true
        }
    }

    /// Appends the `KeyFilter.hash` of each key, reading the keys in place (in arena order).
    func appendKeyHashes(to hashes: inout [UInt64]) {
        withUnsafeMutablePointers { header, words in
            for i in 0..<header.pointee.count {
                let key = Record.key(Self.record(header, words, i))
                hashes.append(KeyFilter.hash(key.baseAddress, key.count))
            }
        }
    }

    // MARK: search

    /// Bytes `start..<start + 7` of a key (zero past its end) in the high seven bytes of a
    /// big-endian number, and in the low byte how many bytes follow `start`, at most 8. For keys
    /// that share their first `start` bytes: a smaller word means a smaller key; equal words
    /// below 8 in the low byte mean equal keys; equal words ending in 8 decide nothing.
    @inline(__always)
    static func word(_ key: UnsafeRawPointer?, _ count: Int, from start: Int) -> UInt64 {
        let remaining = count &- start
        if remaining >= 8 {
            return UInt64(bigEndian: key.unsafelyUnwrapped.loadUnaligned(fromByteOffset: start, as: UInt64.self))
                & ~0xFF | 8
        }
        guard remaining > 0, let key else { return 0 }
        var fragment: UInt64 = 0
        if count >= 8 {
            // The last eight bytes of the key, shifted so that its byte `start` leads.
            fragment =
                UInt64(bigEndian: key.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self))
                &<< UInt64(truncatingIfNeeded: 8 &* (8 &- remaining))
        } else {
            var i = 0
            while i < remaining {
                fragment |= UInt64(key.load(fromByteOffset: start &+ i, as: UInt8.self)) &<< UInt64(56 &- 8 &* i)
                i &+= 1
            }
        }
        return fragment | UInt64(truncatingIfNeeded: remaining)
    }

    /// `word` of a key array.
    @inline(__always)
    static func word(_ key: [UInt8], from start: Int) -> UInt64 {
        key.withUnsafeBufferPointer { word(UnsafeRawPointer($0.baseAddress), $0.count, from: start) }
    }

    /// `word` of a key read in place.
    @inline(__always)
    static func word(_ key: UnsafeRawBufferPointer, from start: Int) -> UInt64 {
        word(key.baseAddress, key.count, from: start)
    }

    /// The first position whose key is >= `key` (`count` when none), and whether it is equal.
    /// `key` must start with the chunk's prefix (it lies in the chunk's range).
    @inline(__always)
    func search(_ key: UnsafeRawPointer?, _ keyCount: Int) -> (index: Int, found: Bool) {
        withUnsafeMutablePointers { header, words in
            Self.prefetchForSearch(header, words)
            let count = header.pointee.count
            let target = Self.word(key, keyCount, from: header.pointee.prefixLength)
            let first = firstWord(atLeast: target, count: count) { words[$0] }
            guard first < count, words[first] == target else { return (first, false) }
            if target & 0xFF < 8 { return (first, true) }
            // Equal words of 8: these keys have the prefix and the word's 7 bytes in common;
            // their order is decided by the bytes after.
            let skip = header.pointee.prefixLength &+ 7
            var low = first
            var high = firstWord(atLeast: target &+ 1, count: count) { words[$0] }
            while low < high {
                let mid = (low &+ high) &>> 1
                let probe = Record.key(Self.record(header, words, mid))
                let order = compareRaw(
                    probe.baseAddress.unsafelyUnwrapped + skip, probe.count &- skip, key.unsafelyUnwrapped + skip,
                    keyCount &- skip)
                if order < 0 {
                    low = mid &+ 1
                } else if order > 0 {
                    high = mid
                } else {
                    return (mid, true)
                }
            }
            return (low, false)
        }
    }

    /// Starts the cache fills of what a search reads: the words all at once (the search's loads
    /// depend on one another, and a branch-free search gives the processor no guess to run
    /// ahead on), and the offsets, read once the position is known.
    @inline(__always)
    private static func prefetchForSearch(_ header: UnsafeMutablePointer<Header>, _ words: UnsafeMutablePointer<UInt64>)
    {
        var line = 8
        while line < KeyMap.maxChunk {
            lb_prefetch(words + line)
            line &+= 8
        }
        let capacity = header.pointee.capacity
        line = 0
        while line < Self.offsetWords(capacity) {
            lb_prefetch(words + (capacity &+ line))
            line &+= 8
        }
    }

    /// `search`'s cache fills, started ahead of it (see `View.values`).
    @inline(__always)
    func prefetchForSearch() {
        withUnsafeMutablePointers { header, words in
            lb_prefetch(words)  // the line after the header's (which the capacity's load brings)
            Self.prefetchForSearch(header, words)
        }
    }

    /// Starts the cache fills of entry `i`'s record: its first three lines (a short key and a
    /// 100-byte value span two or three).
    @inline(__always)
    func prefetchRecord(_ i: Int) {
        withUnsafeMutablePointers { header, words in
            let r = Self.record(header, words, i)
            lb_prefetch(r)
            lb_prefetch(r + 64)
            lb_prefetch(r + 127)
        }
    }

    // MARK: changes (only on a uniquely referenced chunk)

    /// Moves `count` values from `source` to `destination` (the ranges may overlap) with one
    /// memmove.
    @inline(__always)
    private static func moveBytes<T: BitwiseCopyable>(
        _ source: UnsafeMutablePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int
    ) {
        UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * MemoryLayout<T>.stride)
    }

    /// Bytes the live records take.
    @inline(__always)
    private static func liveBytes(_ header: UnsafeMutablePointer<Header>) -> Int {
        header.pointee.arenaUsed &- header.pointee.garbage
    }

    /// Moves the live records, in key order, into a new arena of `arenaBytes` (>= their bytes),
    /// dropping the garbage. A boxed value moves with its record (no reference counting).
    private static func rebuild(
        _ header: UnsafeMutablePointer<Header>, _ words: UnsafeMutablePointer<UInt64>, arenaBytes: Int
    ) {
        let arena = UnsafeMutableRawPointer.allocate(byteCount: max(arenaBytes, 8), alignment: 8)
        let offsets = Self.offsets(words, header.pointee.capacity)
        var used = 0
        if let old = header.pointee.arena {
            for i in 0..<header.pointee.count {
                let r = old + Int(offsets[i])
                let size = Record.size(r)
                (arena + used).copyMemory(from: r, byteCount: size)
                offsets[i] = UInt32(truncatingIfNeeded: used)
                used &+= size
            }
            old.deallocate()
        }
        precondition(used <= arenaBytes)
        header.pointee.arena = arena
        header.pointee.arenaCapacity = max(arenaBytes, 8)
        header.pointee.arenaUsed = used
        header.pointee.garbage = 0
    }

    /// Makes room for `bytes` more at the arena's end: when there is not, moves the live records
    /// into a new arena with room for them, the new bytes and a third more.
    @inline(__always)
    private static func reserve(
        _ header: UnsafeMutablePointer<Header>, _ words: UnsafeMutablePointer<UInt64>, _ bytes: Int
    ) {
        if header.pointee.arenaCapacity &- header.pointee.arenaUsed >= bytes { return }
        let needed = liveBytes(header) &+ bytes
        rebuild(header, words, arenaBytes: needed &+ needed / 3)
    }

    /// A copy of this chunk (its records in key order, boxed values shared), with a little room
    /// to grow: a chunk is copied when a writer finds it shared, to write into it.
    func copy() -> KeyMapChunk {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let capacity = header.pointee.capacity
            let live = Self.liveBytes(header)
            let copy = Self.make(
                capacity: capacity, prefixLength: header.pointee.prefixLength, arenaBytes: live + live / 8 + 64)
            copy.withUnsafeMutablePointers { newHeader, newWords in
                newWords.initialize(from: words, count: count)
                let (offsets, newOffsets) = (Self.offsets(words, capacity), Self.offsets(newWords, capacity))
                let (arena, newArena) = (header.pointee.arena, newHeader.pointee.arena.unsafelyUnwrapped)
                var used = 0
                for i in 0..<count {
                    newOffsets[i] = UInt32(truncatingIfNeeded: used)
                    used &+= Record.copy(arena.unsafelyUnwrapped + Int(offsets[i]), to: newArena + used)
                }
                newHeader.pointee.count = count
                newHeader.pointee.arenaUsed = used
                newHeader.pointee.boxed = header.pointee.boxed
            }
            return copy
        }
    }

    /// Inserts an entry at position `index` (<= count < capacity); its record goes at the end of
    /// the arena.
    func insert(key: [UInt8], value: [UInt8], sequence: UInt64, at index: Int) {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let capacity = header.pointee.capacity
            precondition(count < capacity && index <= count)
            let size = Record.size(keyCount: key.count, valueCount: value.count)
            Self.reserve(header, words, size)
            let offset = header.pointee.arenaUsed
            let word = key.withUnsafeBytes { key in
                Record.write(
                    header.pointee.arena.unsafelyUnwrapped + offset, key: key, value: value, sequence: sequence)
                return Self.word(key, from: header.pointee.prefixLength)
            }
            if value.count > Record.inlineValueLimit { header.pointee.boxed &+= 1 }
            header.pointee.arenaUsed = offset &+ size
            let offsets = Self.offsets(words, capacity)
            if index < count {
                Self.moveBytes(words + index, to: words + index + 1, count: count - index)
                Self.moveBytes(offsets + index, to: offsets + index + 1, count: count - index)
            }
            words[index] = word
            offsets[index] = UInt32(truncatingIfNeeded: offset)
            header.pointee.count = count + 1
        }
    }

    /// Replaces the value and sequence number of entry `index`; returns the old value's size.
    /// In place when the new value fits where the old one was, else in a new record at the end
    /// of the arena (the old one becomes garbage).
    func replaceValue(at index: Int, _ value: [UInt8], sequence: UInt64) -> Int {
        withUnsafeMutablePointers { header, words in
            var r = Self.record(header, words, index)
            let old = Record.valueCount(r)
            let keyCount = Record.keyCount(r)
            let oldSize = Record.size(r)
            let newSize = Record.size(keyCount: keyCount, valueCount: value.count)
            let boxes = value.count > Record.inlineValueLimit
            if Record.isBoxed(r) && boxes {
                Record.box(r).pointee = value
                r.storeBytes(of: sequence, as: UInt64.self)
                return old
            }
            if !Record.isBoxed(r) && !boxes && newSize <= oldSize {
                value.withUnsafeBytes {
                    if let source = $0.baseAddress, $0.count > 0 {
                        (r + (Record.headerSize &+ keyCount)).copyMemory(from: source, byteCount: $0.count)
                    }
                }
                r.storeBytes(of: UInt32(truncatingIfNeeded: value.count), toByteOffset: 12, as: UInt32.self)
                r.storeBytes(of: sequence, as: UInt64.self)
                header.pointee.garbage &+= oldSize &- newSize
                Self.dropGarbageIfMostly(header, words)
                return old
            }
            Self.reserve(header, words, newSize)  // may move the records
            r = Self.record(header, words, index)
            let offset = header.pointee.arenaUsed
            Record.write(
                header.pointee.arena.unsafelyUnwrapped + offset, key: Record.key(r), value: value, sequence: sequence)
            if Record.isBoxed(r) {
                Record.box(r).deinitialize(count: 1)
                header.pointee.boxed &-= 1
            }
            if boxes { header.pointee.boxed &+= 1 }
            header.pointee.garbage &+= oldSize
            header.pointee.arenaUsed = offset &+ newSize
            Self.offsets(words, header.pointee.capacity)[index] = UInt32(truncatingIfNeeded: offset)
            Self.dropGarbageIfMostly(header, words)
            return old
        }
    }

    /// Garbage a chunk may hold beyond half its arena.
    static let garbageAllowance = 1024

    /// Whether the garbage is more than the arena may keep: more than half of it, and more than
    /// `garbageAllowance`.
    @inline(__always)
    private static func mostlyGarbage(_ header: UnsafeMutablePointer<Header>) -> Bool {
        header.pointee.garbage > garbageAllowance && 2 &* header.pointee.garbage > header.pointee.arenaCapacity
    }

    /// Moves the live records into a smaller arena when the garbage is more than the arena may
    /// keep: a chunk whose entries were removed or shrunk holds no more than about twice what
    /// they take. (Each such move follows at least half an arena of garbage: amortized, a copy
    /// of what was dropped.)
    @inline(__always)
    private static func dropGarbageIfMostly(
        _ header: UnsafeMutablePointer<Header>, _ words: UnsafeMutablePointer<UInt64>
    ) {
        guard mostlyGarbage(header) else { return }
        let live = liveBytes(header)
        rebuild(header, words, arenaBytes: live + live / 3)
    }

    /// Removes entry `index`; returns its key's and value's sizes.
    func remove(at index: Int) -> (keyCount: Int, valueCount: Int) {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            precondition(index < count)
            let r = Self.record(header, words, index)
            let sizes = (Record.keyCount(r), Record.valueCount(r))
            header.pointee.garbage &+= Record.size(r)
            if Record.isBoxed(r) {
                Record.box(r).deinitialize(count: 1)
                header.pointee.boxed &-= 1
            }
            let offsets = Self.offsets(words, header.pointee.capacity)
            if index + 1 < count {
                Self.moveBytes(words + index + 1, to: words + index, count: count - index - 1)
                Self.moveBytes(offsets + index + 1, to: offsets + index, count: count - index - 1)
            }
            header.pointee.count = count - 1
            Self.dropGarbageIfMostly(header, words)
            return sizes
        }
    }

    /// Moves the entries from position `start` on into a new chunk with room for `capacity`
    /// entries, without words (`rebase` computes them). The entries that stay keep their words
    /// and move into an arena their size (plus a third, to grow).
    func splitOff(from start: Int, capacity: Int) -> KeyMapChunk {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let offsets = Self.offsets(words, header.pointee.capacity)
            let arena = header.pointee.arena.unsafelyUnwrapped
            var moving = 0
            for i in start..<count { moving &+= Record.size(arena + Int(offsets[i])) }
            let upper = Self.make(capacity: capacity, prefixLength: Self.noWords, arenaBytes: moving + moving / 3)
            var boxed = 0
            upper.withUnsafeMutablePointers { newHeader, newWords in
                let (newOffsets, newArena) = (
                    Self.offsets(newWords, capacity), newHeader.pointee.arena.unsafelyUnwrapped
                )
                var used = 0
                for i in start..<count {
                    let r = arena + Int(offsets[i])
                    let size = Record.size(r)
                    if Record.isBoxed(r) { boxed &+= 1 }
                    (newArena + used).copyMemory(from: r, byteCount: size)  // moved: the old bytes become garbage
                    newOffsets[i - start] = UInt32(truncatingIfNeeded: used)
                    used &+= size
                }
                newHeader.pointee.count = count - start
                newHeader.pointee.arenaUsed = used
                newHeader.pointee.boxed = boxed
            }
            header.pointee.count = start
            header.pointee.boxed &-= boxed
            header.pointee.garbage &+= moving
            let live = Self.liveBytes(header)
            Self.rebuild(header, words, arenaBytes: live + live / 3)
            return upper
        }
    }

    /// Appends an entry without its word (the bulk load computes the words once the chunk's
    /// prefix is known); count < capacity. Leaves the chunk without words.
    func appendWithoutWord(_ entry: KeyMap.RawEntry) {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            precondition(count < header.pointee.capacity)
            let size = Record.size(keyCount: entry.key.count, valueCount: entry.value.count)
            Self.reserve(header, words, size)
            let offset = header.pointee.arenaUsed
            Record.write(
                header.pointee.arena.unsafelyUnwrapped + offset, key: entry.key, value: entry.value,
                sequence: entry.sequence)
            if entry.value.count > Record.inlineValueLimit { header.pointee.boxed &+= 1 }
            header.pointee.arenaUsed = offset &+ size
            Self.offsets(words, header.pointee.capacity)[count] = UInt32(truncatingIfNeeded: offset)
            header.pointee.count = count + 1
            header.pointee.prefixLength = Self.noWords
        }
    }

    /// Appends copies of `other`'s entries (count + other.count <= capacity; boxed values
    /// shared). Leaves the chunk without words.
    func append(contentsOf other: KeyMapChunk) {
        withUnsafeMutablePointers { header, words in
            other.withUnsafeMutablePointers { otherHeader, otherWords in
                let count = header.pointee.count
                let others = otherHeader.pointee.count
                precondition(count + others <= header.pointee.capacity)
                Self.reserve(header, words, Self.liveBytes(otherHeader))
                let offsets = Self.offsets(words, header.pointee.capacity)
                let arena = header.pointee.arena.unsafelyUnwrapped
                var used = header.pointee.arenaUsed
                for i in 0..<others {
                    offsets[count + i] = UInt32(truncatingIfNeeded: used)
                    used &+= Record.copy(Self.record(otherHeader, otherWords, i), to: arena + used)
                }
                header.pointee.arenaUsed = used
                header.pointee.boxed &+= otherHeader.pointee.boxed
                header.pointee.count = count + others
                header.pointee.prefixLength = Self.noWords
            }
        }
    }

    /// Takes the words after `prefixLength` bytes from now on: recomputes them unless they are
    /// taken there already.
    func rebase(_ prefixLength: Int) {
        withUnsafeMutablePointers { header, words in
            guard header.pointee.prefixLength != prefixLength else { return }
            header.pointee.prefixLength = prefixLength
            for i in 0..<header.pointee.count {
                words[i] = Self.word(Record.key(Self.record(header, words, i)), from: prefixLength)
            }
        }
    }

    /// Whether word `i` is the word of key `i` (for `KeyMap._checkInvariants`).
    func _wordMatches(_ i: Int) -> Bool {
        withUnsafeMutablePointers { header, words in
            words[i] == Self.word(Record.key(Self.record(header, words, i)), from: header.pointee.prefixLength)
        }
    }

    /// The first broken invariant of the arena, described, or nil: each record within the bytes
    /// handed out, no two overlapping, the garbage and boxed counts right (for
    /// `KeyMap._checkInvariants`).
    func _arenaViolation() -> String? {
        withUnsafeMutablePointers { header, words in
            let h = header.pointee
            guard h.arenaUsed <= h.arenaCapacity else { return "arena used \(h.arenaUsed) of \(h.arenaCapacity)" }
            let offsets = Self.offsets(words, h.capacity)
            var spans: [(Int, Int)] = []
            var boxed = 0
            for i in 0..<h.count {
                let offset = Int(offsets[i])
                guard offset % 8 == 0, offset + Record.headerSize <= h.arenaUsed else {
                    return "record \(i) at \(offset)"
                }
                let r = h.arena.unsafelyUnwrapped + offset
                guard offset + Record.size(r) <= h.arenaUsed else { return "record \(i) runs past the arena" }
                spans.append((offset, offset + Record.size(r)))
                if Record.isBoxed(r) {
                    boxed += 1
                    if Record.box(r).pointee.count <= Record.inlineValueLimit {
                        return "record \(i) boxes a short value"
                    }
                }
            }
            spans.sort { $0.0 < $1.0 }
            for k in spans.indices.dropFirst() where spans[k].0 < spans[k - 1].1 { return "records overlap" }
            let live = spans.reduce(0) { $0 + $1.1 - $1.0 }
            if live + h.garbage != h.arenaUsed { return "\(live) live bytes + \(h.garbage) garbage != \(h.arenaUsed)" }
            if boxed != h.boxed { return "\(boxed) boxed values, counted \(h.boxed)" }
            if Self.mostlyGarbage(header) { return "\(h.garbage) bytes of garbage in an arena of \(h.arenaCapacity)" }
            return nil
        }
    }
}
