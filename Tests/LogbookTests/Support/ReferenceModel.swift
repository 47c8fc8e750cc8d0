// The in-memory reference the model-based tests compare the store against: a dictionary plus
// its keys kept sorted in the store's key order.

import Testing

@_spi(Testing) @testable import Logbook

struct ReferenceModel {
    private(set) var values: [[UInt8]: [UInt8]] = [:]
    /// The keys of `values`, ascending in byte order.
    private(set) var keys: [[UInt8]] = []

    var count: Int { values.count }

    subscript(key: [UInt8]) -> [UInt8]? { values[key] }

    /// First index whose key is >= `key`.
    private func lowerBound(_ key: [UInt8]) -> Int {
        var low = 0
        var high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keyLess(keys[mid], key) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        if values.updateValue(value, forKey: key) == nil { keys.insert(key, at: lowerBound(key)) }
    }

    mutating func delete(_ key: [UInt8]) {
        if values.removeValue(forKey: key) != nil { keys.remove(at: lowerBound(key)) }
    }

    /// Applies a pending write: a value to put, or nil to delete.
    mutating func apply(_ key: [UInt8], _ value: [UInt8]?) {
        if let value { put(key, value) } else { delete(key) }
    }

    /// Everything, in key order.
    var all: [KeyValue] { keys.map { KeyValue(key: $0, value: values[$0]!) } }

    /// What `scan(options)` must return, computed the naive way from the definition:
    /// keys with the prefix, `start <= key < end`, in order or reversed, at most `limit`.
    func scan(_ options: ScanOptions) -> [KeyValue] {
        var selected = keys.filter { key in
            (options.prefix.map { key.starts(with: $0) } ?? true)
                && (options.start.map { !keyLess(key, $0) } ?? true)
                && (options.end.map { keyLess(key, $0) } ?? true)
        }
        if options.reverse { selected.reverse() }
        if let limit = options.limit { selected = Array(selected.prefix(max(0, limit))) }
        return selected.map { KeyValue(key: $0, value: values[$0]!) }
    }
}

/// Checks that `map` holds exactly what `model` holds (entries in order, counts, bytes) and keeps
/// its structural invariants; `context` names the step in a failure.
func expectMap(_ map: KeyMap, matches model: ReferenceModel, _ context: String) {
    #expect(map._invariantViolation() == nil, "\(context): \(map._invariantViolation() ?? "")")
    #expect(map.count == model.count, "\(context)")
    var visited: [KeyValue] = []
    map.forEach(from: nil, to: nil, reverse: false) { entry in
        visited.append(KeyValue(key: entry.key, value: entry.value))
        return true
    }
    #expect(visited == model.all, "\(context)")
    #expect(map.liveBytes == model.all.reduce(0) { $0 + $1.key.count + $1.value.count }, "\(context)")
}
