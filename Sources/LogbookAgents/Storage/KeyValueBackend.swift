/// The storage the agent layer needs, and all it needs: an ordered map of byte keys to byte
/// values with point reads, writes, deletes, ordered range scans and serializable transactions.
///
/// `AgentBoard` reaches storage only through these protocols, so another engine (a distributed
/// one, for users who outgrow one machine) can be added by conforming it, without touching the
/// layer. Logbook's `Store` is the implementation shipped here (`Store+KeyValueBackend.swift`).
///
///     let board = AgentBoard(backend: try Store(path: ".logbook"))
///
/// What a conforming backend must guarantee:
/// - `withTransaction` is atomic and serializable: its writes all appear or none do, and it
///   behaves as if no other transaction ran while it did (reads and scanned ranges included,
///   so no lost update and no phantom). It may run `body` more than once (on a conflict), so
///   `body` keeps its side effects inside the transaction. Throwing from `body` writes nothing
///   and rethrows.
/// - `withSnapshot` reads one consistent committed state.
/// - Scans return keys in unsigned byte order (or reverse), at most `limit` of them.
public protocol KeyValueBackend: AnyObject, Sendable {
    /// Runs `body` in a serializable read-write transaction and commits its writes atomically.
    func withTransaction<T>(_ body: (any KeyValueWriting) throws -> T) throws -> T

    /// Runs `body` on a consistent read-only view of the committed state.
    func withSnapshot<T>(_ body: (any KeyValueReading) throws -> T) throws -> T
}

/// Reads inside a snapshot or a transaction.
public protocol KeyValueReading {
    /// The value of `key`, or nil when absent.
    func get(_ key: [UInt8]) throws -> [UInt8]?

    /// Calls `body` with the value of `key`, or with nil when absent: what `get` returns, as
    /// bytes valid only during the call (the layer decodes records from them). A backend that
    /// can lend its stored bytes without a copy should (Logbook's `Store` does); the default
    /// lends a copy from `get`. An error `body` throws is rethrown.
    func lendValue(of key: [UInt8], to body: (_ value: UnsafeRawBufferPointer?) throws -> Void) throws

    /// The pairs in `range`, in key order (or reverse), at most `range.limit` of them.
    func scan(_ range: KeyRange) throws -> [KeyValuePair]

    /// Calls `body` with each pair `scan` would return, in its order, as bytes valid only during
    /// the call, until `body` returns false. A backend that can visit its stored bytes without
    /// copying them should (Logbook's `Store` does in snapshots); the default visits the pairs
    /// of `scan`. An error `body` throws is rethrown.
    func visit(
        _ range: KeyRange, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws
}

/// Reads and writes inside a transaction. Writes are seen by the transaction's later reads
/// and by nobody else until it commits.
public protocol KeyValueWriting: KeyValueReading {
    /// Sets `key` to `value`.
    func put(_ key: [UInt8], _ value: [UInt8]) throws

    /// Removes `key` (absent is fine).
    func delete(_ key: [UInt8]) throws
}

extension KeyValueReading {
    public func lendValue(of key: [UInt8], to body: (_ value: UnsafeRawBufferPointer?) throws -> Void) throws {
        guard let value = try get(key) else { return try body(nil) }
        try value.withUnsafeBytes { try body($0) }
    }

    public func visit(
        _ range: KeyRange, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        for pair in try scan(range) {
            let more = try pair.key.withUnsafeBytes { key in try pair.value.withUnsafeBytes { try body(key, $0) } }
            if !more { return }
        }
    }
}

extension KeyValueBackend {
    /// The value of `key`, read in a snapshot of its own.
    public func get(_ key: [UInt8]) throws -> [UInt8]? { try withSnapshot { try $0.get(key) } }

    /// Sets `key` to `value` in a transaction of its own.
    public func put(_ key: [UInt8], _ value: [UInt8]) throws {
        try withTransaction { try $0.put(key, value) }
    }

    /// Removes `key` in a transaction of its own.
    public func delete(_ key: [UInt8]) throws { try withTransaction { try $0.delete(key) } }

    /// The pairs in `range`, read in a snapshot of its own.
    public func scan(_ range: KeyRange) throws -> [KeyValuePair] { try withSnapshot { try $0.scan(range) } }
}

/// A key and its value.
public struct KeyValuePair: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// The keys `start <= key < end` (`end` nil: no upper bound), visited in byte order or in
/// reverse, at most `limit` of them (nil: all).
///
///     let firstTen = KeyRange(prefix: Array("ag/t/".utf8), limit: 10)
public struct KeyRange: Sendable, Equatable {
    /// Inclusive lower bound.
    public var start: [UInt8]
    /// Exclusive upper bound; nil for none.
    public var end: [UInt8]?
    public var limit: Int?
    public var reverse: Bool

    public init(start: [UInt8], end: [UInt8]?, limit: Int? = nil, reverse: Bool = false) {
        self.start = start
        self.end = end
        self.limit = limit
        self.reverse = reverse
    }

    /// Every key that starts with `prefix`.
    public init(prefix: [UInt8], limit: Int? = nil, reverse: Bool = false) {
        self.init(start: prefix, end: Self.successor(ofPrefix: prefix), limit: limit, reverse: reverse)
    }

    /// The smallest key greater than every key with `prefix`; nil when there is none (all 0xFF).
    public static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}
