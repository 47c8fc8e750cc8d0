/// Reads the fields `RecordWriter` wrote, one at a time; checks the header and every length.
/// A malformed value fails with `corrupted`, naming `what` (e.g. `task T-...`).
struct RecordReader {
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int
    let what: String

    /// A top-level record, which must be of `type` and a format version this code reads.
    init(_ value: [UInt8], type: RecordType, what: String) throws(AgentError) {
        self.what = what
        guard value.count >= 2 else { throw AgentError.corrupted("\(what): stored record is truncated") }
        guard value[0] == RecordWriter.formatVersion else {
            throw AgentError.corrupted(
                "\(what): stored record has format version \(value[0]); this program reads version "
                    + "\(RecordWriter.formatVersion)")
        }
        guard value[1] == type.rawValue else {
            throw AgentError.corrupted(
                "\(what): stored record has type \(value[1]), expected \(type.rawValue)")
        }
        bytes = value[...]
        position = 2
    }

    /// A nested record.
    init(nested: ArraySlice<UInt8>, what: String) {
        bytes = nested
        position = nested.startIndex
        self.what = what
    }

    private func damaged(_ detail: String) -> AgentError {
        AgentError.corrupted("\(what): stored record is damaged (\(detail))")
    }

    /// An unsigned LEB128 varint in its shortest form (the only one the writer makes), at most
    /// 64 bits: a value has one encoding, so equal records have equal bytes.
    private mutating func varint() throws(AgentError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex else { throw damaged("varint runs past the end") }
            let b = bytes[position]
            position += 1
            // The tenth byte holds bit 63 only.
            guard shift < 63 || b <= 1 else { throw damaged("varint beyond 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 {
                guard b != 0 || shift == 0 else { throw damaged("varint not in its shortest form") }
                return result
            }
            shift += 7
        }
    }

    /// The next field, or nil at the end.
    mutating func next() throws(AgentError) -> (field: UInt8, value: Value)? {
        guard position < bytes.endIndex else { return nil }
        let tag = bytes[position]
        position += 1
        switch tag & 1 {
        case 0:
            return (tag >> 1, .varint(try varint()))
        default:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - position) else {
                throw damaged("field length runs past the end")
            }
            let start = position
            position += Int(length)
            return (tag >> 1, .bytes(bytes[start..<position]))
        }
    }

    // Typed accessors for a field's value.

    func uint(_ value: Value) throws(AgentError) -> UInt64 {
        guard case .varint(let v) = value else { throw damaged("expected a number") }
        return v
    }

    func int(_ value: Value) throws(AgentError) -> Int64 {
        let v = try uint(value)
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    func time(_ value: Value) throws(AgentError) -> Timestamp { Timestamp(milliseconds: try int(value)) }

    func string(_ value: Value) throws(AgentError) -> String {
        guard case .bytes(let b) = value else { throw damaged("expected text") }
        return String(decoding: b, as: UTF8.self)
    }

    func nested(_ value: Value) throws(AgentError) -> RecordReader {
        guard case .bytes(let b) = value else { throw damaged("expected a nested record") }
        return RecordReader(nested: b, what: what)
    }
}
