import CLogbookShims

/// Builds the view of a whole log at open in one pass, instead of applying its records one at a
/// time: every mutation is collected, then sorted once by key (ties in log order) and only each
/// key's last write is kept; the memtable and tombstones are then built from sorted entries.
///
/// The result is exactly what `View.apply` of the same records, in order, gives an empty view
/// over the same snapshot: a key whose last write is a put holds that value and sequence; a key
/// whose last write is a delete is absent, and a tombstone (with the delete's sequence) when there
/// is a snapshot.
///
/// Memory: when the collected mutations reach `dedupeThreshold` and twice the keys left after the
/// last time, they are sorted and deduplicated on the spot, so a log that overwrites a few keys
/// many times does not hold every old value until the end.
///
/// The mutations live in buffers this type owns (noncopyable): each one's key and value are
/// copied once, back to back, into blocks of a mebibyte (`Bytes`), and the winners once more,
/// into the map's chunks; no allocation per mutation, nothing freed one by one.
struct BulkLoader: ~Copyable {
    /// Whether the view has a snapshot under it (then a last write that deletes is a tombstone).
    let hasSnapshot: Bool
    let dedupeThreshold: Int

    /// One collected mutation: its key, then its value (none for a delete), in `bytes`.
    private struct Pending {
        var bytes: UnsafeRawPointer
        var keyCount: Int
        var valueCount: Int
        var sequence: UInt64
        var isDelete: Bool
        /// `KeyFilter.hash` of the key, taken while its bytes are in cache (the memtable's filter
        /// is built from these: reading each key again in key order would miss the cache).
        var hash: UInt64

        @inline(__always)
        var key: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: bytes, count: keyCount) }

        @inline(__always)
        var value: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: bytes + keyCount, count: valueCount) }
    }

    /// Where the collected keys and values live: blocks of `blockSize` bytes (a larger mutation
    /// gets one of its own), filled in turn and freed together.
    private struct Bytes: ~Copyable {
        static let blockSize = 1 << 20
        private var blocks: [UnsafeMutableRawPointer] = []
        private var next: UnsafeMutableRawPointer? = nil
        private var room = 0

        deinit { for block in blocks { block.deallocate() } }

        /// A copy of `key` followed by `value`.
        mutating func store(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> UnsafeRawPointer {
            let size = key.count + value.count
            if size > room {
                let block = UnsafeMutableRawPointer.allocate(byteCount: max(size, Self.blockSize), alignment: 8)
                blocks.append(block)
                (next, room) = (block, max(size, Self.blockSize))
            }
            let at = next.unsafelyUnwrapped
            if let source = key.baseAddress, key.count > 0 { at.copyMemory(from: source, byteCount: key.count) }
            if let source = value.baseAddress, value.count > 0 {
                (at + key.count).copyMemory(from: source, byteCount: value.count)
            }
            next = at + size
            room -= size
            return UnsafeRawPointer(at)
        }
    }

    private var bytes = Bytes()

    /// The collected mutations, `count` of them, in log order (after a dedupe: a
    /// sorted run of survivors, then log order).
    private var items: UnsafeMutablePointer<Pending>
    private var capacity: Int
    private var count = 0
    /// Mutations collected at which the next dedupe happens.
    private var nextDedupe: Int

    init(hasSnapshot: Bool, dedupeThreshold: Int = 1 << 20) {
        self.hasSnapshot = hasSnapshot
        self.dedupeThreshold = max(1, dedupeThreshold)
        nextDedupe = self.dedupeThreshold
        capacity = 64
        items = .allocate(capacity: capacity)
    }

    deinit {
        items.deallocate()  // `Pending` is plain data: its bytes go with `bytes`
    }

    /// Mutations held (for tests: shows the dedupes).
    var pendingCount: Int { count }

    /// Collects the mutations of one record, given as a payload that `LogFormat.payloadSequence`
    /// accepted, and its sequence number.
    mutating func add(payload: UnsafeRawBufferPointer, sequence: UInt64) {
        _ = LogFormat.walkPayload(
            payload, start: { _ in },
            mutation: { isPut, key, value in
                if count == capacity { grow() }
                let hash = KeyFilter.hash(key.baseAddress, key.count)
                let stored = bytes.store(key, isPut ? value : UnsafeRawBufferPointer(start: nil, count: 0))
                (items + count).initialize(
                    to: Pending(
                        bytes: stored, keyCount: key.count, valueCount: isPut ? value.count : 0, sequence: sequence,
                        isDelete: !isPut, hash: hash))
                count += 1
            })
        if count >= nextDedupe { dedupe() }
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Pending>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: items, count: count)
        items.deallocate()
        items = larger
        capacity *= 2
    }

    /// The view of everything collected, over `snapshot` (which must be there iff `hasSnapshot`).
    consuming func makeView(snapshot: SnapshotReader?) -> View {
        precondition((snapshot != nil) == hasSnapshot)
        let winners = takeLastWrites()
        var puts: [Int] = []
        var deletes: [Int] = []
        var putHashes: [UInt64] = []
        var deleteHashes: [UInt64] = []
        puts.reserveCapacity(winners.count)
        putHashes.reserveCapacity(winners.count)
        for (k, winner) in winners.enumerated() {
            if k &+ 16 < winners.count { lb_prefetch(items + winners[k &+ 16].index) }  // scattered
            if winner.isDelete {
                deletes.append(winner.index)
                deleteHashes.append(items[winner.index].hash)
            } else {
                puts.append(winner.index)
                putHashes.append(items[winner.index].hash)
            }
        }
        var view = View()
        view.snapshot = snapshot
        let items = self.items
        // The maps copy the winners' bytes: `bytes` is freed after.
        view.memtable = puts.withUnsafeBufferPointer { puts in
            KeyMap(
                sortedUnique: puts.indices.lazy.map { k in
                    Self.prefetch(items, puts, k)
                    let pending = items[puts[k]]
                    return KeyMap.RawEntry(key: pending.key, value: pending.value, sequence: pending.sequence)
                }, hashes: putHashes)
        }
        if hasSnapshot {
            view.tombstones = deletes.withUnsafeBufferPointer { deletes in
                KeyMap(
                    sortedUnique: deletes.indices.lazy.map { k in
                        Self.prefetch(items, deletes, k)
                        let pending = items[deletes[k]]
                        return KeyMap.RawEntry(key: pending.key, value: pending.value, sequence: pending.sequence)
                    }, hashes: deleteHashes)
            }
        }
        return view
    }

    /// Before the `k`-th winner of `order` is copied into the map: asks for the item
    /// `itemsAhead` further on, and for the key and value bytes of the one `bytesAhead` further
    /// on (its item asked for earlier). The winners are scattered over the items in key order:
    /// without this, each entry costs a miss or two in a row. (A prefetch never faults.)
    @inline(__always)
    private static func prefetch(_ items: UnsafeMutablePointer<Pending>, _ order: UnsafeBufferPointer<Int>, _ k: Int) {
        let itemsAhead = 16
        let bytesAhead = 8
        if k &+ itemsAhead < order.count { lb_prefetch(items + order[k &+ itemsAhead]) }
        guard k &+ bytesAhead < order.count else { return }
        let bytes = items[order[k &+ bytesAhead]].bytes
        lb_prefetch(bytes)
        lb_prefetch(bytes + 64)
    }

    /// Sorts and keeps each key's last write only (without a snapshot, also drops the keys whose
    /// last write deletes: with nothing under them, they hide nothing).
    private mutating func dedupe() {
        let winners = takeLastWrites()
        let survivors = UnsafeMutablePointer<Pending>.allocate(capacity: max(64, winners.count))
        var kept = 0
        // The survivors' bytes move to new blocks; the old ones, with every overwritten value,
        // are freed.
        var moved = Bytes()
        for winner in winners where hasSnapshot || !winner.isDelete {
            var pending = items[winner.index]
            pending.bytes = moved.store(pending.key, pending.value)
            (survivors + kept).initialize(to: pending)
            kept += 1
        }
        bytes = moved
        items.deallocate()
        items = survivors
        capacity = max(64, winners.count)
        count = kept
        nextDedupe = max(dedupeThreshold, 2 * kept)
    }

    /// One position in the sort: the 8 key bytes after the prefix all keys share (big-endian,
    /// zero-padded: comparing them orders keys that differ there without touching the keys), and
    /// the mutation's position in the log times 2, plus 1 for a delete (so the order by
    /// `ordinal` is log order, and the winners are known as puts or deletes without a look at
    /// the items, scattered in memory by then).
    private struct SortItem {
        var prefix: UInt64
        var ordinal: Int
        var index: Int { ordinal >> 1 }
        var isDelete: Bool { ordinal & 1 != 0 }
    }

    /// Each key's last write, in key order (the items stay as they are).
    private mutating func takeLastWrites() -> [SortItem] {
        let n = count
        guard n > 0 else { return [] }
        let items = self.items
        // The prefix all keys share: the sort compares the 8 bytes after it first. (The keys are
        // cold by now: each pass over them asks for the ones a few items on.)
        var shared = items[0].keyCount
        let first = items[0].key
        for i in 1..<n {
            if i &+ 8 < n { lb_prefetch(items[i &+ 8].bytes) }
            let key = items[i].key
            if key.count >= shared && lb_compare_bytes(key.baseAddress, shared, first.baseAddress, shared) == 0 {
                continue
            }
            var j = 0
            let limit = min(shared, key.count)
            while j < limit && key[j] == first[j] { j += 1 }
            shared = j
            if shared == 0 { break }
        }
        var order = [SortItem](unsafeUninitializedCapacity: n) { buffer, initialized in
            for i in 0..<n {
                if i &+ 8 < n { lb_prefetch(items[i &+ 8].bytes) }
                let key = items[i].key
                var prefix: UInt64 = 0
                if key.count >= shared + 8 {
                    prefix = UInt64(bigEndian: key.loadUnaligned(fromByteOffset: shared, as: UInt64.self))
                } else {
                    for j in shared..<(shared + 8) {
                        prefix = prefix << 8 | (j < key.count ? UInt64(key[j]) : 0)
                    }
                }
                let ordinal = i << 1 | (items[i].isDelete ? 1 : 0)
                (buffer.baseAddress! + i).initialize(to: SortItem(prefix: prefix, ordinal: ordinal))
            }
            initialized = n
        }
        Self.radixSort(&order)
        // Equal prefixes (in log order, the radix sort being stable): order them by the rest.
        order.withUnsafeMutableBufferPointer { order in
            Self.forEachTie(order, 0..<n) { Self.refine(order, $0, items: items, from: shared, levels: 8) }
        }
        var winners: [SortItem] = []
        winners.reserveCapacity(n)
        order.withUnsafeBufferPointer { order in
            for k in 0..<n {
                let item = order[k]
                if k + 1 < n {
                    let next = order[k + 1]
                    if next.prefix == item.prefix && equalBytes(items[item.index].key, items[next.index].key) {
                        continue  // a later write of the same key wins
                    }
                }
                winners.append(item)
            }
        }
        return winners
    }

    /// Calls `body` with each run of two or more items of `order[range]` with equal `prefix`es.
    private static func forEachTie(
        _ order: UnsafeMutableBufferPointer<SortItem>, _ range: Range<Int>, _ body: (Range<Int>) -> Void
    ) {
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start + 1
            while end < range.upperBound && order[end].prefix == order[start].prefix { end += 1 }
            if end - start > 1 { body(start..<end) }
            start = end
        }
    }

    /// Orders `order[run]`, whose keys share their first `depth` bytes, by the rest of their
    /// keys, equal keys in log order. Each item's `prefix` becomes `KeyMapChunk.word` of its key
    /// from `depth` (7 bytes and how many follow: a smaller word is a smaller key, equal words
    /// below 8 in the low byte are equal keys), the run is sorted by it (log order kept), and the runs
    /// that still tie go on 7 bytes further, for `levels` steps; then whole keys are compared.
    /// Keys that share more than the first word (the agent layer's: `ag/i/ts/open/…`) fell to a
    /// comparison sort of whole keys here, a dozen calls and two keys read per item.
    private static func refine(
        _ order: UnsafeMutableBufferPointer<SortItem>, _ run: Range<Int>, items: UnsafeMutablePointer<Pending>,
        from depth: Int, levels: Int
    ) {
        guard levels > 0 else {
            order[run].sort { a, b in
                let (x, y) = (items[a.index].key, items[b.index].key)
                let c = compareRaw(x.baseAddress, x.count, y.baseAddress, y.count)
                return c != 0 ? c < 0 : a.ordinal < b.ordinal
            }
            return
        }
        var allEqual = true
        for k in run {
            order[k].prefix = KeyMapChunk.word(items[order[k].index].key, from: depth)
            allEqual = allEqual && order[k].prefix == order[run.lowerBound].prefix
        }
        if allEqual {
            // Still one tie (keys under one long prefix): nothing to sort at this depth.
        } else if run.count < 1024 {
            // Below this, the radix sort's tables cost more than comparing words. Ordinals are
            // unique, so ordering by word then ordinal keeps equal keys in log order.
            order[run].sort { a, b in a.prefix != b.prefix ? a.prefix < b.prefix : a.ordinal < b.ordinal }
        } else {
            var part = Array(order[run])
            radixSort(&part)
            for (k, item) in zip(run, part) { order[k] = item }
        }
        forEachTie(order, run) { tie in
            if order[tie.lowerBound].prefix & 0xFF == 8 {
                refine(order, tie, items: items, from: depth + 7, levels: levels - 1)
            }
        }
    }

    /// Stable LSD radix sort by `prefix`, a byte at a time, skipping the bytes all items share.
    private static func radixSort(_ order: inout [SortItem]) {
        let n = order.count
        guard n > 1 else { return }
        var counts = [Int](repeating: 0, count: 8 * 256)
        order.withUnsafeBufferPointer { order in
            counts.withUnsafeMutableBufferPointer { counts in
                for item in order {
                    var prefix = item.prefix
                    for digit in 0..<8 {
                        counts[digit &* 256 &+ Int(prefix & 0xff)] &+= 1
                        prefix >>= 8
                    }
                }
            }
        }
        var scratch = [SortItem](repeating: SortItem(prefix: 0, ordinal: 0), count: n)
        for digit in 0..<8 {
            let shift = UInt64(digit * 8)
            let base = digit * 256
            if counts[base + Int((order[0].prefix >> shift) & 0xff)] == n { continue }  // one bucket: no change
            var offsets = [Int](repeating: 0, count: 256)
            var running = 0
            for b in 0..<256 {
                offsets[b] = running
                running += counts[base + b]
            }
            order.withUnsafeBufferPointer { source in
                scratch.withUnsafeMutableBufferPointer { target in
                    offsets.withUnsafeMutableBufferPointer { offsets in
                        for item in source {
                            let b = Int((item.prefix >> shift) & 0xff)
                            target[offsets[b]] = item
                            offsets[b] &+= 1
                        }
                    }
                }
            }
            swap(&order, &scratch)
        }
    }
}
