/// What a store holds at one sequence number: the snapshot on disk, overlaid by the commits made
/// since it (puts in `memtable`, deletes in `tombstones`). While a compaction merges, the
/// memtable and tombstones it folds into the next snapshot are `frozen` between the two: commits
/// go into a new, empty memtable and never touch what the merge reads. Copying a view is O(1);
/// transactions and scans work on such copies.
struct View: Sendable {
    /// The memtable and tombstones a compaction froze at its seal, read-only from then on.
    final class Frozen: Sendable {
        let memtable: KeyMap
        let tombstones: KeyMap

        init(memtable: KeyMap, tombstones: KeyMap) {
            self.memtable = memtable
            self.tombstones = tombstones
        }
    }

    /// Keys put since the snapshot (since the seal, when `frozen`), with their values.
    var memtable = KeyMap()
    /// Keys deleted since then (empty values). Kept only when an older layer (a snapshot, or
    /// `frozen`) may hold them.
    var tombstones = KeyMap()
    /// What a compaction in flight folds into the next snapshot, or nil.
    var frozen: Frozen?
    /// The snapshot, or nil before the first compaction.
    var snapshot: SnapshotReader?

    /// The live entry for `key`, or nil.
    func get(_ key: [UInt8]) throws(LogbookError) -> KeyMap.Entry? {
        try lookUp(
            key, map: { (m) throws(LogbookError) in m.get(key) },
            snapshot: { (s) throws(LogbookError) in try s.get(key) })
    }

    /// The live value of `key`, or nil: `get` without making an entry.
    func value(_ key: [UInt8]) throws(LogbookError) -> [UInt8]? {
        try lookUp(
            key, map: { (m) throws(LogbookError) in m.value(key) },
            snapshot: { (s) throws(LogbookError) in try s.value(key) })
    }

    /// The live values of `keys`, in order: `value` of each, the look-ups of `batch` keys at a
    /// time taken step by step together (`KeyMap.startLookUp`, `SnapshotReader.startLookUp`:
    /// find the chunk or block, then the position, then the value), so that the memory misses of
    /// one key's step overlap those of the others' instead of following them. A key whose
    /// memtable filter said yes wrongly, and every key while a compaction's frozen layer is
    /// there or in paranoid mode with a value cache, takes `value` alone.
    func values(_ keys: [[UInt8]]) throws(LogbookError) -> [[UInt8]?] {
        var values: [[UInt8]?] = []
        values.reserveCapacity(keys.count)
        guard frozen == nil, snapshot?.stepsLookUps ?? true else {
            for key in keys { values.append(try value(key)) }
            return values
        }
        var steps = [Step](repeating: .absent, count: Self.batch)
        var start = 0
        while start < keys.count {
            let end = min(start &+ Self.batch, keys.count)
            for i in start..<end { steps[i &- start] = first(keys[i]) }
            for i in start..<end { steps[i &- start] = try second(keys[i], steps[i &- start]) }
            for i in start..<end { values.append(try last(keys[i], steps[i &- start])) }
            start = end
        }
        return values
    }

    /// Keys whose look-ups `values` takes together: 8 was the fastest of 4, 8, 16 and 32 (the
    /// misses of more no longer overlap; Docs/Benchmarks.md).
    private static let batch = 8

    /// Where a look-up of `values` stands.
    private enum Step {
        case absent
        case chunk(Int)
        case record(chunk: Int, index: Int)
        case block(Int)
        case entry(payload: UnsafeRawBufferPointer, start: Int)
        /// Looked up by `value` alone.
        case alone
    }

    /// Step 1 of `values` for `key` (the layers in `lookUp`'s order; no frozen layer here).
    @inline(__always)
    private func first(_ key: [UInt8]) -> Step {
        if let c = memtable.startLookUp(key) { return .chunk(c) }
        // Not in the memtable: its filter or its prefix says so.
        guard snapshot != nil else { return .absent }
        if tombstones.count > 0 && tombstones.contains(key) { return .absent }
        return .block(snapshot.unsafelyUnwrapped.startLookUp(key))
    }

    /// Step 2 of `values`.
    @inline(__always)
    private func second(_ key: [UInt8], _ step: Step) throws(LogbookError) -> Step {
        switch step {
        case .chunk(let c):
            // Not found: the filter was wrong, and the older layers decide.
            guard let i = memtable.position(of: key, inChunk: c) else { return .alone }
            return .record(chunk: c, index: i)
        case .block(let b):
            guard let (payload, start) = try snapshot.unsafelyUnwrapped.candidate(key, inBlock: b) else {
                return .absent
            }
            return .entry(payload: payload, start: start)
        default:
            return step
        }
    }

    /// Step 3 of `values`: the value.
    @inline(__always)
    private func last(_ key: [UInt8], _ step: Step) throws(LogbookError) -> [UInt8]? {
        switch step {
        case .absent:
            return nil
        case .record(let c, let i):
            return memtable.value(chunk: c, index: i)
        case .entry(let payload, let start):
            let snapshot = snapshot.unsafelyUnwrapped
            return try snapshot.value(key, found: snapshot.entry(key, in: payload, from: start))
        case .chunk, .block, .alone:
            return try value(key)
        }
    }

    /// `body` on the live value of `key`, read where it lies (valid during the call, while this
    /// view lives), or on nil when absent: `value` without the copy.
    func withValue<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        let found = try lookUp(key, map: { try $0.withValue(key, body) }, snapshot: { try $0.withValue(key, body) })
        if let found { return found }
        return try body(nil)
    }

    /// The one place that says which layer shadows which: `inMap` on the memtable; then, unless
    /// a tombstone hides the key, on the frozen memtable; then, unless the frozen tombstones
    /// hide it, `inSnapshot` on the snapshot. Nil when no layer holds the key.
    @inline(__always)
    private func lookUp<T, E: Error>(
        _ key: [UInt8], map inMap: (KeyMap) throws(E) -> T?, snapshot inSnapshot: (SnapshotReader) throws(E) -> T?
    ) throws(E) -> T? {
        if let found = try inMap(memtable) { return found }
        // Borrowed, not bound: `guard let` copies the optional through a generic runtime call.
        guard snapshot != nil || frozen != nil else { return nil }
        if tombstones.count > 0 && tombstones.contains(key) { return nil }
        if frozen != nil {
            let frozen = frozen.unsafelyUnwrapped
            if let found = try inMap(frozen.memtable) { return found }
            if frozen.tombstones.count > 0 && frozen.tombstones.contains(key) { return nil }
            guard snapshot != nil else { return nil }
        }
        return try inSnapshot(snapshot.unsafelyUnwrapped)
    }

    /// The view a compaction folds into its snapshot: the memtable and tombstones, over the
    /// snapshot. From here on, until `thaw()` or `replaceSnapshot`, this view writes into a
    /// new memtable above them.
    mutating func freeze() -> View {
        thaw()  // left by a failed compaction's commit that raced its clean-up: fold it first
        var folded = View()
        folded.memtable = memtable
        folded.tombstones = tombstones
        folded.snapshot = snapshot
        frozen = Frozen(memtable: memtable, tombstones: tombstones)
        memtable = KeyMap()
        tombstones = KeyMap()
        return folded
    }

    /// After a compaction installed `snapshot`, which holds what was frozen: reads go to it.
    mutating func replaceSnapshot(_ snapshot: SnapshotReader) {
        self.snapshot = snapshot
        frozen = nil
    }

    /// After a compaction failed: folds the commits made since the seal back into the frozen
    /// memtable and tombstones, which become the memtable and tombstones again.
    mutating func thaw() {
        guard let frozen else { return }
        var merged = frozen.memtable
        var deleted = frozen.tombstones
        // The memtable and tombstones above are disjoint: each key's latest change is in one.
        _ = memtable.forEachInPlace { key, value, sequence in
            let key = [UInt8](key)
            merged.put(key, [UInt8](value), sequence: sequence)
            deleted.remove(key)
            return true
        }
        _ = tombstones.forEachInPlace { key, _, sequence in
            let key = [UInt8](key)
            merged.remove(key)
            if snapshot != nil { deleted.put(key, [], sequence: sequence) }
            return true
        }
        self.frozen = nil
        memtable = merged
        tombstones = deleted
    }

    /// Applies one committed transaction.
    mutating func apply(_ record: LogRecord) {
        let hasOlder = snapshot != nil || frozen != nil
        // By index: `for mutation in` copies each mutation (its key and value retained, then
        // released), where this hands the memtable the pattern's copies to keep.
        for i in record.mutations.indices {
            switch record.mutations[i] {
            case .put(let key, let value):
                if hasOlder { tombstones.remove(key) }
                memtable.put(key, value, sequence: record.sequence)  // the last use: moved
            case .delete(let key):
                memtable.remove(key)
                if hasOlder { tombstones.put(key, [], sequence: record.sequence) }
            }
        }
    }

    /// Visits the live entries with `lower <= key < upper` in key order (or reverse) until `body`
    /// returns false.
    func forEach(
        from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool,
        _ body: (KeyMap.Entry) throws(LogbookError) -> Bool
    ) throws(LogbookError) {
        var recent = KeyMap.Cursor(memtable, lower: lower, upper: upper, reverse: reverse)
        func visit<Older: EntryCursor>(_ older: Older) throws(LogbookError) {
            var merged = LayerCursor(recent, over: older, tombstones: tombstones, reverse: reverse)
            while let entry = try merged.next() { if try !body(entry) { return } }
        }
        let snapshot = snapshot.map { SnapshotCursor($0, lower: lower, upper: upper, reverse: reverse) }
        switch (frozen, snapshot) {
        case (nil, nil):
            while let entry = recent.next() { if try !body(entry) { return } }
        case (nil, let snapshot?):
            try visit(snapshot)
        case (let frozen?, nil):
            try visit(KeyMap.Cursor(frozen.memtable, lower: lower, upper: upper, reverse: reverse))
        case (let frozen?, let snapshot?):
            let folded = KeyMap.Cursor(frozen.memtable, lower: lower, upper: upper, reverse: reverse)
            try visit(LayerCursor(folded, over: snapshot, tombstones: frozen.tombstones, reverse: reverse))
        }
    }

    /// Visits the live entries with `lower <= key < upper` (nil: unbounded) in key order, each
    /// key and value read where it is (valid during the call), until `body` returns false. The
    /// compaction's merge copies each entry once this way, into the new snapshot, and
    /// `Store.visit` hands them to its caller; `forEach` would copy the snapshot's entries into
    /// arrays first. Only for a view with no frozen layer.
    func forEachInPlace(
        from lower: [UInt8]? = nil, to upper: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UInt64) throws(LogbookError) -> Bool
    ) throws(LogbookError) {
        precondition(frozen == nil, "an in-place walk needs a view with no frozen layer")
        var cursor: SnapshotCursor? = snapshot.map { SnapshotCursor($0, lower: lower, upper: upper, reverse: false) }
        var next = try cursor?.nextPosition()
        let checkTombstones = tombstones.count > 0
        /// Visits the snapshot's live entries below `key` (all of them when nil), and skips the
        /// one equal to it (the memtable's entry shadows it); false when `body` said stop.
        func older(below key: UnsafeRawBufferPointer?) throws(LogbookError) -> Bool {
            while let position = next {
                if let key {
                    let order = compareRaw(position.key.baseAddress, position.key.count, key.baseAddress, key.count)
                    if order > 0 { return true }
                    if order == 0 {
                        next = try cursor!.nextPosition()
                        return true
                    }
                }
                if !checkTombstones || !tombstones.contains(position.key) {
                    if try !body(position.key, position.value, position.sequence) { return false }
                }
                next = try cursor!.nextPosition()
            }
            return true
        }
        // The memtable's walk does not carry a typed error: the failure is carried out by hand.
        var failure: LogbookError? = nil
        var stopped = false
        _ = memtable.forEachInPlace(from: lower) { key, value, sequence in
            if let upper,
                upper.withUnsafeBytes({ compareRaw(key.baseAddress, key.count, $0.baseAddress, $0.count) }) >= 0
            {
                return false  // past the range: the snapshot's cursor ends there too
            }
            do throws(LogbookError) {
                let goOn = try older(below: key)
                stopped = !goOn
                if !stopped { stopped = try !body(key, value, sequence) }
                return !stopped
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        if !stopped { _ = try older(below: nil) }
    }

    /// Live keys and their key+value bytes (walks everything when there is a snapshot).
    func countLive() throws(LogbookError) -> (keys: Int, bytes: Int) {
        guard snapshot != nil || frozen != nil else { return (memtable.count, memtable.liveBytes) }
        var keys = 0
        var bytes = 0
        try forEach(from: nil, to: nil, reverse: false) { entry in
            keys += 1
            bytes += entry.key.count + entry.value.count
            return true
        }
        return (keys, bytes)
    }
}

/// Entries in key order (or reverse), one at a time.
protocol EntryCursor {
    mutating func next() throws(LogbookError) -> KeyMap.Entry?
}

extension KeyMap.Cursor: EntryCursor {}
extension SnapshotCursor: EntryCursor {}

/// One layer of a view over the layers below it: the layer's entries, and the older ones that
/// neither its entries shadow nor its tombstones delete.
struct LayerCursor<Older: EntryCursor>: EntryCursor {
    private var recent: KeyMap.Cursor
    private var older: Older
    private let tombstones: KeyMap
    private let checkTombstones: Bool
    private let reverse: Bool
    /// The next entry of each side, read when the one before it is returned (lazily: a scan
    /// that stops reads no further).
    private var x: KeyMap.Entry?
    private var y: KeyMap.Entry?
    private var readX = true
    private var readY = true

    init(_ recent: KeyMap.Cursor, over older: Older, tombstones: KeyMap, reverse: Bool) {
        self.recent = recent
        self.older = older
        self.tombstones = tombstones
        checkTombstones = tombstones.count > 0
        self.reverse = reverse
    }

    mutating func next() throws(LogbookError) -> KeyMap.Entry? {
        if readX {
            x = recent.next()
            readX = false
        }
        if readY {
            y = try nextOlder()
            readY = false
        }
        // Each entry is moved out (`take()`), not copied: no reference counting per step.
        guard x != nil else {
            readY = y != nil
            return y.take()
        }
        guard y != nil else {
            readX = true
            return x.take()
        }
        let order = compareBytes(x.unsafelyUnwrapped.key, y.unsafelyUnwrapped.key)
        if order == 0 {  // the newer value shadows the older
            (readX, readY) = (true, true)
            y = nil
            return x.take()
        }
        if (order < 0) != reverse {
            readX = true
            return x.take()
        }
        readY = true
        return y.take()
    }

    /// The next older entry that the tombstones do not delete.
    private mutating func nextOlder() throws(LogbookError) -> KeyMap.Entry? {
        while let entry = try older.next() {
            if !checkTombstones || !tombstones.contains(entry.key) { return entry }
        }
        return nil
    }
}
