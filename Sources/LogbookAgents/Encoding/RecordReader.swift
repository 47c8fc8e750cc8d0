/// Reads the fields `RecordWriter` wrote, one at a time; checks the header and every length.
/// A malformed value fails with `corrupted`, naming the record (e.g. `task T-...`). Reads the
/// bytes where they are (a stored value lent by the backend, or an array's storage): a reader
/// and the values it returns live only as long as those bytes; strings are copied out.
struct RecordReader {
    enum Value {
        case varint(UInt64)
        case bytes(UnsafeRawBufferPointer)
    }

    /// The record being read, as errors name it; the text is made only when one is thrown.
    struct Name {
        let type: RecordType
        let id: String
        /// History entries only.
        var revision = 0

        var text: String {
            switch type {
            case .task: return "task \(id)"
            case .decision: return "decision \(id)"
            case .handoff: return "hand-off \(id)"
            case .history: return "history of \(id) revision \(revision)"
            }
        }
    }

    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    let name: Name

    /// A top-level record, which must be of `name.type` and a format version this code reads.
    init(_ value: UnsafeRawBufferPointer, naming name: Name) throws(AgentError) {
        self.name = name
        guard value.count >= 2 else { throw AgentError.corrupted("\(name.text): stored record is truncated") }
        guard value[0] == RecordWriter.formatVersion else {
            throw AgentError.corrupted(
                "\(name.text): stored record has format version \(value[0]); this program reads version "
                    + "\(RecordWriter.formatVersion)")
        }
        guard value[1] == name.type.rawValue else {
            throw AgentError.corrupted(
                "\(name.text): stored record has type \(value[1]), expected \(name.type.rawValue)")
        }
        bytes = value
        position = 2
    }

    /// A nested record.
    init(nested: UnsafeRawBufferPointer, naming name: Name) {
        bytes = nested
        position = 0
        self.name = name
    }

    /// `body` on the bytes of `value`, throwing what `body` throws (`withUnsafeBytes` alone
    /// rethrows an untyped error).
    static func reading<R>(_ value: [UInt8], _ body: (UnsafeRawBufferPointer) throws(AgentError) -> R)
        throws(AgentError) -> R
    {
        try value.withUnsafeBytes { bytes in Result { () throws(AgentError) in try body(bytes) } }.get()
    }

    private func damaged(_ detail: String) -> AgentError {
        AgentError.corrupted("\(name.text): stored record is damaged (\(detail))")
    }

    /// An unsigned LEB128 varint in its shortest form (the only one the writer makes), at most
    /// 64 bits: a value has one encoding, so equal records have equal bytes.
    private mutating func varint() throws(AgentError) -> UInt64 {
        guard position < bytes.count else { throw damaged("varint runs past the end") }
        let first = bytes[position]
        position &+= 1
        if first < 0x80 { return UInt64(first) }  // most are one byte: tags, lengths, codes
        var result = UInt64(first & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard position < bytes.count else { throw damaged("varint runs past the end") }
            let b = bytes[position]
            position &+= 1
            // The tenth byte holds bit 63 only.
            guard shift < 63 || b <= 1 else { throw damaged("varint beyond 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 {
                guard b != 0 else { throw damaged("varint not in its shortest form") }
                return result
            }
            shift += 7
        }
    }

    /// The next field, or nil at the end.
    mutating func next() throws(AgentError) -> (field: UInt8, value: Value)? {
        guard position < bytes.count else { return nil }
        let tag = bytes[position]
        position &+= 1
        switch tag & 1 {
        case 0:
            return (tag >> 1, .varint(try varint()))
        default:
            let length = try varint()
            guard length <= UInt64(bytes.count &- position) else {
                throw damaged("field length runs past the end")
            }
            let start = position
            position &+= Int(length)
            return (tag >> 1, .bytes(UnsafeRawBufferPointer(rebasing: bytes[start..<position])))
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
        return b.withMemoryRebound(to: UInt8.self) { String(decoding: $0, as: UTF8.self) }
    }

    func nested(_ value: Value) throws(AgentError) -> RecordReader {
        guard case .bytes(let b) = value else { throw damaged("expected a nested record") }
        return RecordReader(nested: b, naming: name)
    }
}
