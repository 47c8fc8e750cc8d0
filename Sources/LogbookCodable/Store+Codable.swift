// Codable conveniences: values as JSON. FoundationEssentials only (no ICU load), and only for
// the programs that import this module: `Logbook` itself links no Foundation at all.

import Logbook

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Store {
    /// Stores `value` as JSON under `key`.
    public func put<T: Encodable>(_ key: String, encoding value: T) throws {
        try put(Array(key.utf8), Array(try JSONEncoder().encode(value)))
    }

    /// The JSON value under `key` decoded as `T`, or nil when absent.
    /// - Throws: `DecodingError` when the stored bytes are not a `T`.
    public func get<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
        guard let bytes = try get(Array(key.utf8)) else { return nil }
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    }
}

extension WriteTransaction {
    /// Writes `value` as JSON under `key` in this transaction.
    public func put<T: Encodable>(_ key: String, encoding value: T) throws {
        try put(Array(key.utf8), Array(try JSONEncoder().encode(value)))
    }

    /// The JSON value under `key` as this transaction sees it, decoded as `T`, or nil when absent.
    public func get<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
        guard let bytes = try get(Array(key.utf8)) else { return nil }
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    }
}
