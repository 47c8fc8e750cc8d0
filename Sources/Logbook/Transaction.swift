/// A consistent, read-only view of a store, given to `Store.read { }`.
public final class ReadTransaction {
    let view: View
    /// Sequence number of the last commit this view includes.
    public let sequence: UInt64

    init(view: View, sequence: UInt64) {
        self.view = view
        self.sequence = sequence
    }

    /// The value of `key` in this view, or nil.
    /// - Throws: `corrupted` or `io` when a snapshot block cannot be read.
    public func get(_ key: [UInt8]) throws -> [UInt8]? { try view.get(key)?.value }

    /// The values of `keys` in this view, in order (nil where absent): `get` of each, faster
    /// (see `Store.getMany`).
    /// - Throws: `corrupted` or `io` when a snapshot block cannot be read.
    public func getMany(_ keys: [[UInt8]]) throws -> [[UInt8]?] { try view.values(keys) }

    /// `body` on the value of `key` in this view, or on nil, without a copy (see
    /// `Store.withValue`): the bytes are valid only during the call.
    @inlinable
    public func withValue<R>(_ key: [UInt8], _ body: (_ value: UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var result: R? = nil
        try lend(key) { result = try body($0) }
        return result!
    }

    /// `withValue` with a body that returns nothing (see `Store.lend`).
    @usableFromInline
    func lend(_ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try view.withValue(key, body)
    }

    /// The pairs the scan selects in this view.
    public func scan(_ options: ScanOptions = .all) throws -> [KeyValue] { try Store.scan(view, options) }

    /// The pairs the scan selects in this view, in place (see `Store.visit`).
    public func visit(
        _ options: ScanOptions = .all,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try Store.visit(view, options, body)
    }

    /// Number of live keys in this view (walks the snapshot when there is one).
    public var count: Int {
        get throws { try view.countLive().keys }
    }
}

/// The transaction given to `Store.write { }`: reads from one snapshot plus its own writes,
/// buffers writes until the closure returns, and records what it read so the commit can check
/// that nothing it depended on changed (serializable, phantom-safe for scanned ranges).
public final class WriteTransaction {
    // The stored properties are used by the transaction's own thread only (the class is not
    // Sendable): they opt out of Swift's dynamic exclusivity checks, which cost more than the
    // rest of a `put` into the write set.

    /// The snapshot it reads; dropped by `releaseSnapshot()` once the commit has validated.
    @exclusivity(unchecked) private(set) var view: View
    /// Sequence number of the last commit the snapshot includes.
    let sequence: UInt64
    /// The MANIFEST generation the snapshot was read under (see `isValid`).
    let generation: UInt64
    /// Pending writes, as the mutations the commit will write.
    @exclusivity(unchecked) var writes = KeyTable<Mutation>()
    /// Keys read from the snapshot, and whether each was present.
    @exclusivity(unchecked) private var reads = KeyTable<Read>()
    /// Ranges scanned in the snapshot, `lower <= key < upper`.
    @exclusivity(unchecked) private var ranges: [(lower: [UInt8]?, upper: [UInt8]?)] = []
    @exclusivity(unchecked) var isFinished = false

    /// A key read from the snapshot, and whether it was present.
    private struct Read: Keyed {
        let key: [UInt8]
        let wasPresent: Bool
    }

    init(view: View, sequence: UInt64, generation: UInt64) {
        self.view = view
        self.sequence = sequence
        self.generation = generation
    }

    /// The value of `key` as this transaction sees it (its own writes first).
    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try checkActive()
        if let pending = writes.find(key) {
            if case .put(_, let value) = writes.entries[pending] { return value }
            return nil
        }
        let value = try view.value(key)
        reads.set(Read(key: key, wasPresent: value != nil))
        return value
    }

    /// The values of `keys` as this transaction sees them, in order: `get` of each (its own
    /// writes first), the look-ups of the others overlapped (see `Store.getMany`). Each is read
    /// like `get`: the commit checks that nothing it read changed.
    public func getMany(_ keys: [[UInt8]]) throws -> [[UInt8]?] {
        try checkActive()
        var values = [[UInt8]?](repeating: nil, count: keys.count)
        var unwritten: [Int] = []
        for (i, key) in keys.enumerated() {
            guard let pending = writes.find(key) else {
                unwritten.append(i)
                continue
            }
            if case .put(_, let value) = writes.entries[pending] { values[i] = value }
        }
        let read = try view.values(unwritten.map { keys[$0] })
        for (j, i) in unwritten.enumerated() {
            values[i] = read[j]
            reads.set(Read(key: keys[i], wasPresent: read[j] != nil))
        }
        return values
    }

    /// `body` on the value of `key` as this transaction sees it (its own writes first), or on
    /// nil, without a copy (see `Store.withValue`): the bytes are valid only during the call.
    /// Read like `get`: the commit checks that nothing it read changed.
    @inlinable
    public func withValue<R>(_ key: [UInt8], _ body: (_ value: UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var result: R? = nil
        try lend(key) { result = try body($0) }
        return result!
    }

    /// `withValue` with a body that returns nothing.
    @usableFromInline
    func lend(_ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try checkActive()
        if let pending = writes.find(key) {
            if case .put(_, let value) = writes.entries[pending] { return try value.withUnsafeBytes { try body($0) } }
            return try body(nil)
        }
        try view.withValue(key) { value in
            // Recorded before `body` runs: what it saw counts even if it throws.
            reads.set(Read(key: key, wasPresent: value != nil))
            try body(value)
        }
    }

    /// Sets `key` to `value` when the transaction commits.
    public func put(_ key: [UInt8], _ value: [UInt8]) throws {
        try checkActive()
        try Store.check(key: key, value: value)
        writes.set(.put(key: key, value: value))
    }

    /// Deletes `key` when the transaction commits.
    public func delete(_ key: [UInt8]) throws {
        try checkActive()
        try Store.check(key: key)
        writes.set(.delete(key: key))
    }

    /// The pairs the scan selects, merging this transaction's own writes over the snapshot.
    public func scan(_ options: ScanOptions = .all) throws -> [KeyValue] {
        try checkActive()
        let bounds = options.bounds
        guard !bounds.empty else { return [] }
        let limit = options.limit ?? Int.max
        let reverse = options.reverse
        func inRange(_ key: [UInt8]) -> Bool {
            (bounds.lower.map { compareBytes(key, $0) >= 0 } ?? true)
                && (bounds.upper.map { compareBytes(key, $0) < 0 } ?? true)
        }
        func before(_ a: [UInt8], _ b: [UInt8]) -> Bool { reverse ? compareBytes(a, b) > 0 : compareBytes(a, b) < 0 }
        var own: [(key: [UInt8], value: [UInt8]?)] = writes.entries.compactMap { mutation in
            guard inRange(mutation.key) else { return nil }
            if case .put(let key, let value) = mutation { return (key, value) }
            return (mutation.key, nil)
        }
        own.sort { before($0.key, $1.key) }
        var next = 0
        var result: [KeyValue] = []
        func emit(_ key: [UInt8], _ value: [UInt8]?) {
            if let value { result.append(KeyValue(key: key, value: value)) }
        }
        try view.forEach(from: bounds.lower, to: bounds.upper, reverse: reverse) { entry in
            while next < own.count, result.count < limit, before(own[next].key, entry.key) {
                emit(own[next].key, own[next].value)
                next += 1
            }
            guard result.count < limit else { return false }
            if next < own.count, own[next].key == entry.key {
                emit(own[next].key, own[next].value)
                next += 1
            } else {
                emit(entry.key, entry.value)
            }
            return result.count < limit
        }
        while next < own.count, result.count < limit {
            emit(own[next].key, own[next].value)
            next += 1
        }
        // The part of the range this scan depended on: all of it, or up to the last key returned.
        if result.count >= limit, let last = result.last?.key {
            if reverse { ranges.append((last, bounds.upper)) } else { ranges.append((bounds.lower, last + [0])) }
        } else {
            ranges.append((bounds.lower, bounds.upper))
        }
        return result
    }

    /// Drops the snapshot once the commit no longer needs it (after validation, before the leader
    /// applies the batch): the live map is then the only owner of its chunks and is updated in
    /// place, instead of copying every chunk the commit touches.
    func releaseSnapshot() { view = View() }

    private func checkActive() throws(LogbookError) {
        if isFinished { throw LogbookError(.invalidArgument, "transaction used after its closure returned") }
    }

    /// The buffered writes as mutations, in key order. Takes them out of the write set (called
    /// once, after the closure returned: the transaction no longer reads or writes).
    func mutations() -> [Mutation] {
        var mutations = writes.takeEntries()
        guard mutations.count <= KeyTable<Mutation>.linearLimit else {
            // Large sets: the standard sort of positions, comparing the keys in place too.
            return mutations.withUnsafeBufferPointer { m in
                let base = m.baseAddress!
                var order = Array(m.indices)
                order.sort { Self.keyOrder(base + $0, base + $1) < 0 }
                return order.map { m[$0] }
            }
        }
        // An insertion sort for the small write sets of most transactions, comparing the keys
        // where they are: the standard sort's comparator would retain and release both keys on
        // every comparison.
        mutations.withUnsafeMutableBufferPointer { m in
            guard let base = m.baseAddress, m.count > 1 else { return }
            for i in 1..<m.count {
                var j = i
                while j > 0 && Self.keyOrder(base + j - 1, base + j) > 0 {
                    m.swapAt(j - 1, j)
                    j -= 1
                }
            }
        }
        return mutations
    }

    /// The order of two mutations' keys (-1, 0, 1).
    @inline(__always)
    private static func keyOrder(_ a: UnsafePointer<Mutation>, _ b: UnsafePointer<Mutation>) -> Int32 {
        a.pointee.key.withUnsafeBufferPointer { a in
            b.pointee.key.withUnsafeBufferPointer { b in
                compareRaw(UnsafeRawPointer(a.baseAddress), a.count, UnsafeRawPointer(b.baseAddress), b.count)
            }
        }
    }

    /// Whether everything this transaction read is unchanged in `current`, the latest state:
    /// at once when `latest` is where the snapshot stood (no commit since it in any process:
    /// each commit takes the next sequence number, and anything that could rewind them, a
    /// repair or a restore, replaces the MANIFEST).
    func isValid(against current: View, latest: CommitPoint) throws(LogbookError) -> Bool {
        if latest == CommitPoint(sequence: sequence, generation: generation) { return true }
        for read in reads.entries {
            let now = try current.get(read.key)
            if read.wasPresent {
                guard let now, now.sequence <= sequence else { return false }
            } else if now != nil {
                return false
            }
        }
        for range in ranges {
            // Unchanged iff no key in the range was written after the snapshot and none vanished.
            var before = 0
            try view.forEach(from: range.lower, to: range.upper, reverse: false) { _ in
                before += 1
                return true
            }
            var after = 0
            var changed = false
            try current.forEach(from: range.lower, to: range.upper, reverse: false) { entry in
                after += 1
                changed = entry.sequence > sequence
                return !changed
            }
            if changed || before != after { return false }
        }
        return true
    }
}
