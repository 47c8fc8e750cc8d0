/// Writes a record value: a 2-byte header (format version, record type), then fields.
///
///     byte 0      format version (1)
///     byte 1      record type: 1 task, 2 decision, 3 hand-off, 4 history entry
///     fields      tag byte = field number << 1 | wire type, then
///                   wire 0: an unsigned LEB128 varint
///                   wire 1: a varint length, then that many bytes (UTF-8 text or a nested record
///                           of fields without header)
///
/// Absent optional fields are not written; a repeated field is written once per element, in
/// order. Readers skip field numbers they do not know, so fields can be added without a new
/// format version; the version changes only for an incompatible change.
struct RecordWriter {
    static let formatVersion: UInt8 = 1

    private(set) var bytes: [UInt8] = []

    /// A top-level record of `type`.
    init(type: RecordType, capacity: Int = 160) {
        bytes.reserveCapacity(capacity)
        bytes.append(Self.formatVersion)
        bytes.append(type.rawValue)
    }

    /// A nested record (no header).
    init() {}

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func uint(_ field: UInt8, _ value: UInt64) {
        bytes.append(field << 1)
        varint(value)
    }

    /// A signed integer, zigzag-encoded.
    mutating func int(_ field: UInt8, _ value: Int64) {
        uint(field, UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func time(_ field: UInt8, _ value: Timestamp?) {
        if let value { int(field, value.milliseconds) }
    }

    mutating func string(_ field: UInt8, _ value: String?) {
        guard let value else { return }
        bytes.append(field << 1 | 1)
        varint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// A nested record of up to three text fields (1, 2, 3), written in place.
    mutating func nestedStrings(_ field: UInt8, _ a: String?, _ b: String?, _ c: String?) {
        func size(_ s: String?) -> Int {
            guard let s else { return 0 }
            let n = s.utf8.count
            return 1 + Self.varintSize(UInt64(n)) + n
        }
        bytes.append(field << 1 | 1)
        varint(UInt64(size(a) + size(b) + size(c)))
        string(1, a)
        string(2, b)
        string(3, c)
    }

    static func varintSize(_ value: UInt64) -> Int {
        var n = 1
        var v = value
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    mutating func strings(_ field: UInt8, _ values: [String]) {
        for value in values { string(field, value) }
    }

    mutating func nested(_ field: UInt8, _ record: RecordWriter) {
        bytes.append(field << 1 | 1)
        varint(UInt64(record.bytes.count))
        bytes.append(contentsOf: record.bytes)
    }
}

/// The record types of byte 1 of a record value.
enum RecordType: UInt8 {
    case task = 1
    case decision = 2
    case handoff = 3
    case history = 4
}
