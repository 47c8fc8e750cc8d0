// String conveniences: keys and values as UTF-8.

extension Store {
    /// The value of `key` (UTF-8), or nil.
    public func get(_ key: String) throws -> [UInt8]? { try get(Array(key.utf8)) }

    /// The value of `key` decoded as UTF-8, or nil.
    public func string(_ key: String) throws -> String? {
        try get(Array(key.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Sets `key` to the UTF-8 bytes of `value`.
    public func put(_ key: String, _ value: String) throws { try put(Array(key.utf8), Array(value.utf8)) }

    /// Sets `key` to `value`.
    public func put(_ key: String, _ value: [UInt8]) throws { try put(Array(key.utf8), value) }

    /// Removes `key`; returns whether it existed.
    @discardableResult
    public func delete(_ key: String) throws -> Bool { try delete(Array(key.utf8)) }

    /// Pairs whose key starts with `prefix`, in key order.
    public func scan(prefix: String, limit: Int? = nil, reverse: Bool = false) throws -> [KeyValue] {
        try scan(ScanOptions(prefix: Array(prefix.utf8), limit: limit, reverse: reverse))
    }
}

extension WriteTransaction {
    public func get(_ key: String) throws -> [UInt8]? { try get(Array(key.utf8)) }

    /// The value of `key` decoded as UTF-8, or nil.
    public func string(_ key: String) throws -> String? {
        try get(Array(key.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    public func put(_ key: String, _ value: String) throws { try put(Array(key.utf8), Array(value.utf8)) }
    public func put(_ key: String, _ value: [UInt8]) throws { try put(Array(key.utf8), value) }
    public func delete(_ key: String) throws { try delete(Array(key.utf8)) }
}

extension ReadTransaction {
    public func get(_ key: String) throws -> [UInt8]? { try get(Array(key.utf8)) }

    /// The value of `key` decoded as UTF-8, or nil.
    public func string(_ key: String) throws -> String? {
        try get(Array(key.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }
}
