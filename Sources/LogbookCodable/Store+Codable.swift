// Codable conveniences: values as JSON. FoundationEssentials only (no ICU load), and only for
// the programs that import this module: `Logbook` itself links no Foundation at all.

import Logbook

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the JSON conveniences stand on: a store (each put its own transaction) or a write
/// transaction (its puts and gets inside it).
public protocol JSONValues {
    func put(_ key: [UInt8], _ value: [UInt8]) throws
    func get(_ key: [UInt8]) throws -> [UInt8]?
}

extension JSONValues {
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

extension Store: JSONValues {}
extension WriteTransaction: JSONValues {}
