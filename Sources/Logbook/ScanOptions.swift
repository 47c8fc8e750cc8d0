/// A key and its value, as returned by scans.
public struct KeyValue: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// Which keys a scan visits: those with `prefix` (if any), `start <= key < end` (each optional),
/// in byte order of keys (or reverse), at most `limit` of them.
///
///     let recent = try store.scan(ScanOptions(prefix: Array("task/".utf8), limit: 10, reverse: true))
public struct ScanOptions: Sendable, Equatable {
    public var prefix: [UInt8]?
    /// Inclusive lower bound.
    public var start: [UInt8]?
    /// Exclusive upper bound.
    public var end: [UInt8]?
    /// At most this many results; nil for all.
    public var limit: Int?
    /// Visit keys from the highest down.
    public var reverse: Bool

    public init(
        prefix: [UInt8]? = nil, start: [UInt8]? = nil, end: [UInt8]? = nil, limit: Int? = nil, reverse: Bool = false
    ) {
        self.prefix = prefix
        self.start = start
        self.end = end
        self.limit = limit
        self.reverse = reverse
    }

    /// Every key in order.
    public static let all = ScanOptions()

    /// The range `lower <= key < upper` this scan covers (nil: unbounded); `empty` when none.
    var bounds: (lower: [UInt8]?, upper: [UInt8]?, empty: Bool) {
        var lower = start
        var upper = end
        if let prefix, !prefix.isEmpty {
            if lower == nil || compareBytes(lower!, prefix) < 0 { lower = prefix }
            if let successor = Self.successor(ofPrefix: prefix) {
                if upper == nil || compareBytes(successor, upper!) < 0 { upper = successor }
            }
        }
        if let lower, let upper, compareBytes(lower, upper) >= 0 { return (lower, upper, true) }
        return (lower, upper, limit.map { $0 <= 0 } ?? false)
    }

    /// The smallest key greater than every key with `prefix`, or nil when there is none (all 0xFF).
    static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
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
