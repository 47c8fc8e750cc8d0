/// What a store holds at one sequence number: the snapshot on disk, overlaid by the commits made
/// since it (puts in `memtable`, deletes in `tombstones`). Copying a view is O(1); transactions
/// and scans work on such copies.
struct View: Sendable {
    /// Keys put since the snapshot, with their values.
    var memtable = KeyMap()
    /// Keys deleted since the snapshot (empty values). Kept only when there is a snapshot.
    var tombstones = KeyMap()
    /// The snapshot, or nil before the first compaction.
    var snapshot: SnapshotReader?

    /// The live entry for `key`, or nil.
    func get(_ key: [UInt8]) throws(LogbookError) -> KeyMap.Entry? {
        if let entry = memtable.get(key) { return entry }
        // Borrowed, not bound: `guard let` copies the optional through a generic runtime call.
        guard snapshot != nil else { return nil }
        if tombstones.count > 0 && tombstones.contains(key) { return nil }
        return try snapshot.unsafelyUnwrapped.get(key)
    }

    /// The live value of `key`, or nil: `get` without making an entry.
    func value(_ key: [UInt8]) throws(LogbookError) -> [UInt8]? {
        if let value = memtable.value(key) { return value }
        guard snapshot != nil else { return nil }
        if tombstones.count > 0 && tombstones.contains(key) { return nil }
        return try snapshot.unsafelyUnwrapped.value(key)
    }

    /// Applies one committed transaction.
    mutating func apply(_ record: LogRecord) {
        let hasSnapshot = snapshot != nil
        for mutation in record.mutations {
            switch mutation {
            case .put(let key, let value):
                memtable.put(key, value, sequence: record.sequence)
                if hasSnapshot { tombstones.remove(key) }
            case .delete(let key):
                memtable.remove(key)
                if hasSnapshot { tombstones.put(key, [], sequence: record.sequence) }
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
        guard let snapshot else {
            while let entry = recent.next() { if try !body(entry) { return } }
            return
        }
        var older = SnapshotCursor(snapshot, lower: lower, upper: upper, reverse: reverse)
        let checkTombstones = tombstones.count > 0
        var x = recent.next()
        var y = try older.next()
        while x != nil || y != nil {
            if let entry = y, checkTombstones, tombstones.contains(entry.key) {
                y = try older.next()
                continue
            }
            guard let a = x else {
                if try !body(y!) { return }
                y = try older.next()
                continue
            }
            guard let b = y else {
                if try !body(a) { return }
                x = recent.next()
                continue
            }
            let order = compareBytes(a.key, b.key)
            if order == 0 {  // the memtable's newer value shadows the snapshot's
                y = try older.next()
            } else if (order < 0) != reverse {
                if try !body(a) { return }
                x = recent.next()
            } else {
                if try !body(b) { return }
                y = try older.next()
            }
        }
    }

    /// Visits every live entry in key order, its key and value read where they are (valid during
    /// the call): the compaction's merge, which then copies each entry once, into the new
    /// snapshot, where `forEach` would copy the snapshot's entries into arrays first.
    func forEachInPlace(
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UInt64) throws(LogbookError) -> Void
    ) throws(LogbookError) {
        var cursor: SnapshotCursor? = snapshot.map { SnapshotCursor($0, lower: nil, upper: nil, reverse: false) }
        var next = try cursor?.nextPosition()
        let checkTombstones = tombstones.count > 0
        /// Visits the snapshot's live entries below `key` (all of them when nil), and skips the
        /// one equal to it (the memtable's entry shadows it).
        func older(below key: UnsafeRawBufferPointer?) throws(LogbookError) {
            while let position = next {
                if let key {
                    let order = compareRaw(position.key.baseAddress, position.key.count, key.baseAddress, key.count)
                    if order > 0 { return }
                    if order == 0 {
                        next = try cursor!.nextPosition()
                        return
                    }
                }
                if !checkTombstones || !tombstones.contains(position.key) {
                    try body(position.key, position.value, position.sequence)
                }
                next = try cursor!.nextPosition()
            }
        }
        _ = try memtable.forEachInPlace { (entry) throws(LogbookError) -> Bool in
            // Array's closures do not carry a typed error: the failure is carried out by hand.
            var failure: LogbookError? = nil
            entry.key.withUnsafeBytes { key in
                entry.value.withUnsafeBytes { value in
                    do throws(LogbookError) {
                        try older(below: key)
                        try body(key, value, entry.sequence)
                    } catch { failure = error }
                }
            }
            if let failure { throw failure }
            return true
        }
        try older(below: nil)
    }

    /// Live keys and their key+value bytes (walks everything when there is a snapshot).
    func countLive() throws(LogbookError) -> (keys: Int, bytes: Int) {
        guard snapshot != nil else { return (memtable.count, memtable.liveBytes) }
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
