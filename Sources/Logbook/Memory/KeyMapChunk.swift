import CLogbookShims

/// One chunk of a `KeyMap`: up to `capacity` (at most 256) entries in one allocation. The
/// entries sit in slots in no particular order; two packed arrays in key order give each
/// position's search word (see `KeyMapChunk.word`) and slot, so that a binary search reads words
/// from one small array and dereferences a key only to break a tie, and an insert shifts nine
/// bytes a position (the word and the slot number), not the 24 of an entry as well: a chunk
/// of the memtable is seldom in cache, and the shift was a tenth of a put.
///
/// Layout of the tail allocation: `capacity` words, `capacity` slot numbers (one byte each,
/// padded to 8 bytes), then `capacity` entries, of which slots `0..<count` are in use. A chunk
/// is shared by the copies of a map and is written only when uniquely referenced (`KeyMap`
/// copies it first otherwise), so that readers holding a copy never see it change.
final class KeyMapChunk: ManagedBuffer<KeyMapChunk.Header, UInt64> {
    struct Header {
        /// Entries in use.
        var count: Int
        /// Every key the chunk may hold (see `KeyMap`) starts with the same this many bytes; the
        /// words are taken after them. `noWords` while the words are not computed.
        var prefixLength: Int
        /// Entries the allocation has room for.
        let capacity: Int
    }

    /// `Header.prefixLength` of a chunk whose words are stale.
    static let noWords = -1

    /// An empty chunk with room for `capacity` entries.
    static func make(capacity: Int, prefixLength: Int) -> KeyMapChunk {
        precondition(MemoryLayout<KeyMap.Entry>.stride % 8 == 0 && MemoryLayout<KeyMap.Entry>.alignment <= 8)
        precondition(capacity > 0 && capacity <= Self.maxCapacity)
        let words = capacity + orderWords(capacity) + capacity * (MemoryLayout<KeyMap.Entry>.stride / 8)
        let buffer = create(minimumCapacity: words) { _ in
            Header(count: 0, prefixLength: prefixLength, capacity: capacity)
        }
        let chunk = unsafeDowncast(buffer, to: KeyMapChunk.self)
        chunk.withUnsafeMutablePointerToElements { words in
            _ = UnsafeMutableRawPointer(words + capacity).bindMemory(to: UInt8.self, capacity: capacity)
            _ = UnsafeMutableRawPointer(words + capacity + orderWords(capacity)).bindMemory(
                to: KeyMap.Entry.self, capacity: capacity)
        }
        return chunk
    }

    /// Most entries a chunk holds: a slot number is one byte.
    static let maxCapacity = 256

    /// 8-byte words the slot numbers of a chunk of `capacity` take.
    @inline(__always)
    static func orderWords(_ capacity: Int) -> Int { (capacity &+ 7) &>> 3 }

    deinit {
        _ = withUnsafeMutablePointers { header, words in
            Self.entries(words, header.pointee.capacity).deinitialize(count: header.pointee.count)
        }
    }

    /// Where an entry is.
    typealias EntryPointer = UnsafeMutablePointer<KeyMap.Entry>

    /// The entries' slots (`0..<count` in use, in no order).
    @inline(__always)
    static func entries(_ words: UnsafeMutablePointer<UInt64>, _ capacity: Int) -> EntryPointer {
        UnsafeMutableRawPointer(words + (capacity &+ orderWords(capacity))).assumingMemoryBound(to: KeyMap.Entry.self)
    }

    /// `order[i]`: the slot of the entry at position `i` in key order.
    @inline(__always)
    static func order(_ words: UnsafeMutablePointer<UInt64>, _ capacity: Int) -> UnsafeMutablePointer<UInt8> {
        UnsafeMutableRawPointer(words + capacity).assumingMemoryBound(to: UInt8.self)
    }

    /// The entry at position `i` in key order.
    @inline(__always)
    static func entry(_ words: UnsafeMutablePointer<UInt64>, _ capacity: Int, _ i: Int) -> EntryPointer {
        entries(words, capacity) + Int(order(words, capacity)[i])
    }

    // Through the header pointer: `header` itself is a class property, and each access to it
    // would pay a dynamic exclusivity check.

    @inline(__always)
    var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }

    @inline(__always)
    var prefixLength: Int { withUnsafeMutablePointerToHeader { $0.pointee.prefixLength } }

    @inline(__always)
    var entryCapacity: Int { withUnsafeMutablePointerToHeader { $0.pointee.capacity } }

    /// Entry `i` (< count) in key order.
    @inline(__always)
    subscript(i: Int) -> KeyMap.Entry {
        withUnsafeMutablePointers { header, words in Self.entry(words, header.pointee.capacity, i).pointee }
    }

    /// Value of entry `i` (< count) in key order.
    @inline(__always)
    func value(_ i: Int) -> [UInt8] {
        withUnsafeMutablePointers { header, words in Self.entry(words, header.pointee.capacity, i).pointee.value }
    }

    /// Key of entry `i` (< count) in key order.
    @inline(__always)
    func key(_ i: Int) -> [UInt8] {
        withUnsafeMutablePointers { header, words in Self.entry(words, header.pointee.capacity, i).pointee.key }
    }

    /// The entries in use, in key order, read where they are.
    struct Ordered {
        let entries: UnsafeMutablePointer<KeyMap.Entry>
        let order: UnsafeMutablePointer<UInt8>
        let count: Int

        /// The entry at position `i` (< count).
        @inline(__always)
        func pointer(_ i: Int) -> UnsafePointer<KeyMap.Entry> { UnsafePointer(entries + Int(order[i])) }
    }

    /// Runs `body` on the entries in use, in key order.
    @inline(__always)
    func withEntries<R, E: Error>(_ body: (Ordered) throws(E) -> R) throws(E) -> R {
        try withUnsafeMutablePointers { (header, words) throws(E) -> R in
            let capacity = header.pointee.capacity
            return try body(
                Ordered(
                    entries: Self.entries(words, capacity), order: Self.order(words, capacity),
                    count: header.pointee.count))
        }
    }

    /// Appends the `KeyFilter.hash` of each key, reading the keys in place (in slot order).
    func appendKeyHashes(to hashes: inout [UInt64]) {
        withUnsafeMutablePointers { header, words in
            let entries = Self.entries(words, header.pointee.capacity)
            for i in 0..<header.pointee.count {
                entries[i].key.withUnsafeBytes { hashes.append(KeyFilter.hash($0.baseAddress, $0.count)) }
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

    /// The first position whose key is >= `key` (`count` when none), and whether it is equal.
    /// `key` must start with the chunk's prefix (it lies in the chunk's range).
    @inline(__always)
    func search(_ key: UnsafeRawPointer?, _ keyCount: Int) -> (index: Int, found: Bool) {
        withUnsafeMutablePointers { header, words in
            // The words' cache fills all at once: the search's loads depend on one another,
            // and a branch-free search gives the processor no guess to run ahead on.
            var line = 8
            while line < KeyMap.maxChunk {
                lb_prefetch(words + line)
                line &+= 8
            }
            // And the slot numbers, read once the position is known.
            let capacity = header.pointee.capacity
            line = 0
            while line < Self.orderWords(capacity) {
                lb_prefetch(words + (capacity &+ line))
                line &+= 8
            }
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
                let order = Self.entry(words, capacity, mid).pointee.key.withUnsafeBufferPointer { probe in
                    compareRaw(
                        UnsafeRawPointer(probe.baseAddress.unsafelyUnwrapped) + skip, probe.count &- skip,
                        key.unsafelyUnwrapped + skip, keyCount &- skip)
                }
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

    // MARK: changes (only on a uniquely referenced chunk)

    /// Moves `count` values from `source` to `destination` (the ranges may overlap) with one
    /// memmove; the source slots are then uninitialized. Words, slot numbers and entries are
    /// bitwise-movable (an entry is two array references and an integer), and `moveInitialize`
    /// would move an overlapping range one element at a time.
    @inline(__always)
    private static func moveBytes<T>(
        _ source: UnsafeMutablePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int
    ) {
        UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * MemoryLayout<T>.stride)
    }

    /// A copy with room for `capacity` (>= count) entries, its slots in key order.
    func copy(capacity: Int) -> KeyMapChunk {
        let copy = Self.make(capacity: capacity, prefixLength: prefixLength)
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let (entries, order) = (
                Self.entries(words, header.pointee.capacity), Self.order(words, header.pointee.capacity)
            )
            copy.withUnsafeMutablePointers { newHeader, newWords in
                newWords.initialize(from: words, count: count)
                let (newEntries, newOrder) = (Self.entries(newWords, capacity), Self.order(newWords, capacity))
                for i in 0..<count {
                    (newEntries + i).initialize(to: entries[Int(order[i])])
                    newOrder[i] = UInt8(truncatingIfNeeded: i)
                }
                newHeader.pointee.count = count
            }
        }
        return copy
    }

    /// Inserts `entry` at position `index` (<= count < capacity), in slot `count`. (Consumed:
    /// moved into its slot, where a borrowed entry would be copied, two retains and releases.)
    func insert(_ entry: consuming KeyMap.Entry, at index: Int) {
        let slot = withUnsafeMutablePointers { header, words -> EntryPointer in
            let count = header.pointee.count
            let capacity = header.pointee.capacity
            precondition(count < capacity && index <= count)
            let order = Self.order(words, capacity)
            let word = entry.key.withUnsafeBufferPointer {
                Self.word(UnsafeRawPointer($0.baseAddress), $0.count, from: header.pointee.prefixLength)
            }
            if index < count {
                Self.moveBytes(words + index, to: words + index + 1, count: count - index)
                Self.moveBytes(order + index, to: order + index + 1, count: count - index)
            }
            words[index] = word
            order[index] = UInt8(truncatingIfNeeded: count)
            header.pointee.count = count + 1
            return Self.entries(words, capacity) + count
        }
        slot.initialize(to: entry)
    }

    /// Replaces the value and sequence number of entry `index`; returns the old value's size.
    func replaceValue(at index: Int, _ value: consuming [UInt8], sequence: UInt64) -> Int {
        withUnsafeMutablePointers { header, words in
            let entry = Self.entry(words, header.pointee.capacity, index)
            let old = entry.pointee.value.count
            entry.pointee.value = value
            entry.pointee.sequence = sequence
            return old
        }
    }

    /// Removes entry `index` and returns it. The entry of the last slot moves into its slot.
    func remove(at index: Int) -> KeyMap.Entry {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let capacity = header.pointee.capacity
            precondition(index < count)
            let (entries, order) = (Self.entries(words, capacity), Self.order(words, capacity))
            let slot = Int(order[index])
            let entry = (entries + slot).move()
            let last = count - 1
            if slot != last {
                Self.moveBytes(entries + last, to: entries + slot, count: 1)
                var i = 0
                while Int(order[i]) != last { i += 1 }
                order[i] = UInt8(truncatingIfNeeded: slot)
            }
            if index + 1 < count {
                Self.moveBytes(words + index + 1, to: words + index, count: count - index - 1)
                Self.moveBytes(order + index + 1, to: order + index, count: count - index - 1)
            }
            header.pointee.count = last
            return entry
        }
    }

    /// Moves the entries from position `start` on into a new chunk with room for `capacity`
    /// entries, without words (`rebase` computes them). The entries that stay keep their
    /// words; those in slots from `start` on move into the slots the others left.
    func splitOff(from start: Int, capacity: Int) -> KeyMapChunk {
        let upper = Self.make(capacity: capacity, prefixLength: Self.noWords)
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let (entries, order) = (
                Self.entries(words, header.pointee.capacity), Self.order(words, header.pointee.capacity)
            )
            upper.withUnsafeMutablePointers { newHeader, newWords in
                let (newEntries, newOrder) = (Self.entries(newWords, capacity), Self.order(newWords, capacity))
                for i in start..<count {
                    Self.moveBytes(entries + Int(order[i]), to: newEntries + (i - start), count: 1)
                    newOrder[i - start] = UInt8(truncatingIfNeeded: i - start)
                }
                newHeader.pointee.count = count - start
            }
            // As many entries below `start` sit in slots from `start` on as slots below `start`
            // were emptied: pair them up.
            var hole = start
            for i in 0..<start where Int(order[i]) >= start {
                while Int(order[hole]) >= start { hole += 1 }
                Self.moveBytes(entries + Int(order[i]), to: entries + Int(order[hole]), count: 1)
                order[i] = order[hole]
                hole += 1
            }
            header.pointee.count = start
        }
        return upper
    }

    /// Appends `entry` without its word (the bulk load computes the words once the chunk's
    /// prefix is known); count < capacity. Leaves the chunk without words.
    func appendWithoutWord(_ entry: KeyMap.Entry) {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let capacity = header.pointee.capacity
            precondition(count < capacity)
            (Self.entries(words, capacity) + count).initialize(to: entry)
            Self.order(words, capacity)[count] = UInt8(truncatingIfNeeded: count)
            header.pointee.count = count + 1
            header.pointee.prefixLength = Self.noWords
        }
    }

    /// Appends copies of `other`'s entries (count + other.count <= capacity). Leaves the chunk
    /// without words.
    func append(contentsOf other: KeyMapChunk) {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let capacity = header.pointee.capacity
            let (entries, order) = (Self.entries(words, capacity), Self.order(words, capacity))
            other.withEntries { others in
                precondition(count + others.count <= capacity)
                for i in 0..<others.count {
                    (entries + count + i).initialize(to: others.pointer(i).pointee)
                    order[count + i] = UInt8(truncatingIfNeeded: count + i)
                }
                header.pointee.count = count + others.count
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
            let capacity = header.pointee.capacity
            let count = header.pointee.count
            // The keys are separate allocations, cold after a bulk load: ask for a few ahead,
            // so that their misses overlap. (An array is one reference to its storage, whose
            // header and first bytes share a cache line; a prefetch never faults.)
            let ahead = 8
            for i in 0..<min(ahead, count) {
                lb_prefetch(unsafeBitCast(Self.entry(words, capacity, i).pointee.key, to: UnsafeRawPointer.self))
            }
            for i in 0..<count {
                if i &+ ahead < count {
                    lb_prefetch(
                        unsafeBitCast(Self.entry(words, capacity, i &+ ahead).pointee.key, to: UnsafeRawPointer.self))
                }
                words[i] = Self.entry(words, capacity, i).pointee.key.withUnsafeBufferPointer {
                    Self.word(UnsafeRawPointer($0.baseAddress), $0.count, from: prefixLength)
                }
            }
        }
    }

    /// Whether word `i` is the word of key `i` (for `KeyMap._checkInvariants`).
    func _wordMatches(_ i: Int) -> Bool {
        withUnsafeMutablePointers { header, words in
            words[i]
                == Self.word(
                    Self.entry(words, header.pointee.capacity, i).pointee.key, from: header.pointee.prefixLength)
        }
    }

    /// Whether the positions name each slot in use once (for `KeyMap._checkInvariants`).
    func _orderIsPermutation() -> Bool {
        withUnsafeMutablePointers { header, words in
            let order = Self.order(words, header.pointee.capacity)
            let count = header.pointee.count
            return Set((0..<count).map { Int(order[$0]) }) == Set(0..<count)
        }
    }
}
