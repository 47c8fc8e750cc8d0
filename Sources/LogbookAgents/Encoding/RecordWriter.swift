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
///
/// A record lists its fields once, in `FieldEncodable.encodeFields(into:)`, generic over the
/// sink: a `FieldCounter` pass sizes the value exactly, then a `FieldBuffer` pass writes it
/// (no growth, no intermediate arrays or strings) and the value is allocated once.
enum RecordWriter {
    static let formatVersion: UInt8 = 1

    /// The value of `record`, a top-level record of `type`.
    static func encode<R: FieldEncodable>(_ record: R, type: RecordType) -> [UInt8] {
        var counter = FieldCounter()
        record.encodeFields(into: &counter)
        return bytes(count: 2 + counter.count, from: record) { out, record in
            out.byte(formatVersion)
            out.byte(type.rawValue)
            record.encodeFields(into: &out)
        }
    }

    /// An array of exactly `count` bytes, all written by `body`. They are written into a
    /// temporary buffer (on the stack when small) and copied once into the array: cheaper than
    /// growing an array, or `Array(unsafeUninitializedCapacity:)`, whose allocation goes
    /// through the standard library's unspecialized (metadata-looking-up) path.
    @inline(__always)
    static func bytes(count: Int, _ body: (inout FieldBuffer) -> Void) -> [UInt8] {
        bytes(count: count, from: ()) { out, _ in body(&out) }
    }

    /// `bytes(count:_:)` writing from `source`, which `body` gets as an argument. A closure
    /// that captures a record copies it (retaining every field) on the way into the temporary
    /// buffer's closure; a generic argument travels by reference.
    @inline(__always)
    static func bytes<Source>(
        count: Int, from source: Source, _ body: (inout FieldBuffer, Source) -> Void
    ) -> [UInt8] {
        if count == 0 { return [] }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
            var out = FieldBuffer(buffer)
            body(&out, source)
            precondition(out.position == count, "encoded size mismatch")
            return Array(buffer)
        }
    }

    /// Bytes a varint of `value` takes.
    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        if value < 0x80 { return 1 }  // most: tags, lengths of short text, small numbers
        // 1 byte per started 7 bits.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }
}

/// A record (or a nested record) that lists its fields to a sink.
protocol FieldEncodable {
    func encodeFields<S: FieldSink>(into sink: inout S)
}

/// Where encoded bytes go: a counter or a buffer.
protocol FieldSink {
    mutating func byte(_ value: UInt8)
    mutating func varint(_ value: UInt64)
    /// The UTF-8 bytes of `text` (no length).
    mutating func utf8(_ text: String)
}

extension FieldSink {
    @inline(__always)
    mutating func uint(_ field: UInt8, _ value: UInt64) {
        byte(field << 1)
        varint(value)
    }

    /// A signed integer, zigzag-encoded.
    @inline(__always)
    mutating func int(_ field: UInt8, _ value: Int64) {
        uint(field, UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inline(__always)
    mutating func time(_ field: UInt8, _ value: Timestamp?) {
        if let value { int(field, value.milliseconds) }
    }

    @inline(__always)
    mutating func string(_ field: UInt8, _ value: String?) {
        guard let value else { return }
        byte(field << 1 | 1)
        varint(UInt64(value.utf8.count))
        utf8(value)
    }

    mutating func strings(_ field: UInt8, _ values: [String]) {
        for value in values { string(field, value) }
    }

    /// A nested record: its length (sized by a counting pass), then its fields.
    mutating func nested<R: FieldEncodable>(_ field: UInt8, _ record: R) {
        var counter = FieldCounter()
        record.encodeFields(into: &counter)
        byte(field << 1 | 1)
        varint(UInt64(counter.count))
        record.encodeFields(into: &self)
    }
}

/// Counts the bytes an encoding takes.
struct FieldCounter: FieldSink {
    private(set) var count = 0

    @inline(__always) mutating func byte(_ value: UInt8) { count += 1 }
    @inline(__always) mutating func varint(_ value: UInt64) { count += RecordWriter.varintSize(value) }
    @inline(__always) mutating func utf8(_ text: String) { count += text.utf8.count }
}

/// Writes into a buffer sized beforehand; every write is bounds-checked (once per write, by
/// `claim`).
struct FieldBuffer: FieldSink {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var position = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    /// The next `count` bytes of the buffer, for the caller to write; traps when they are not
    /// all inside it.
    @inline(__always)
    private mutating func claim(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(count >= 0 && count <= capacity &- position, "record buffer overflow")
        let start = base + position
        position &+= count
        return start
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) { claim(1).pointee = value }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            byte(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        byte(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func utf8(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { append($0) }
        if copied == nil {
            var text = text
            text.withUTF8 { append($0) }
        }
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        let out = claim(bytes.count)
        guard let source = bytes.baseAddress else { return }
        out.update(from: source, count: bytes.count)
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// `value` as 16 lowercase hex digits (fixed width, so keys sort numerically).
    @inline(__always)
    mutating func hex16(_ value: UInt64) {
        let out = claim(16)
        for i in 0..<16 {
            let digit = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * i)) & 0xF
            out[i] = digit < 10 ? 0x30 + digit : 0x57 + digit
        }
    }

    /// The last `width` decimal digits of `value` (>= 0), zero-padded.
    @inline(__always)
    mutating func decimal(_ value: Int, width: Int) {
        let out = claim(width)
        var v = value
        for i in stride(from: width - 1, through: 0, by: -1) {
            out[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        }
    }
}

/// The record types of byte 1 of a record value.
enum RecordType: UInt8 {
    case task = 1
    case decision = 2
    case handoff = 3
    case history = 4
}
