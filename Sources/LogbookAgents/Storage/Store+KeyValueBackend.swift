import Logbook

// Logbook's `Store` as the agent layer's backend: transactions are `Store.write { }`
// (optimistic, serializable, retried on conflict), snapshots are `Store.read { }`.

extension Store: KeyValueBackend {
    public func withTransaction<T>(_ body: (any KeyValueWriting) throws -> T) throws -> T {
        try write { tx in try body(tx) }
    }

    public func withSnapshot<T>(_ body: (any KeyValueReading) throws -> T) throws -> T {
        try read { rtx in try body(rtx) }
    }
}

extension WriteTransaction: KeyValueWriting {
    public func lendValue(of key: [UInt8], to body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try withValue(key, body)
    }

    public func scan(_ range: KeyRange) throws -> [KeyValuePair] {
        try scan(range.scanOptions).map { KeyValuePair(key: $0.key, value: $0.value) }
    }
}

extension ReadTransaction: KeyValueReading {
    public func lendValue(of key: [UInt8], to body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try withValue(key, body)
    }

    public func visit(
        _ range: KeyRange, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try visit(range.scanOptions, body)
    }

    public func scan(_ range: KeyRange) throws -> [KeyValuePair] {
        try scan(range.scanOptions).map { KeyValuePair(key: $0.key, value: $0.value) }
    }
}

extension KeyRange {
    fileprivate var scanOptions: ScanOptions {
        ScanOptions(start: start, end: end, limit: limit, reverse: reverse)
    }
}
