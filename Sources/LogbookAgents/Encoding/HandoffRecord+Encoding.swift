// Hand-off record fields: 1 from  2 to  3 task id  4 instructions  5 status code  6 result
// 7 reason  8 created at  9 updated at  10 revision.

extension HandoffRecord: FieldEncodable {
    /// The stored value of this hand-off (format version 1, type 3; see `RecordWriter`).
    @_spi(Testing) public func encoded() -> [UInt8] { RecordWriter.encode(self, type: .handoff) }

    func encodeFields<S: FieldSink>(into w: inout S) {
        w.string(1, from)
        w.string(2, to)
        w.string(3, task)
        w.string(4, instructions)
        w.uint(5, status.code)
        w.string(6, result)
        w.string(7, reason)
        w.time(8, createdAt)
        w.time(9, updatedAt)
        w.uint(10, UInt64(truncatingIfNeeded: revision))
    }

    /// The hand-off stored as `value` under id `id`.
    /// - Throws: `corrupted`, naming the hand-off, when `value` is not a hand-off record this code reads.
    @_spi(Testing) public init(id: String, decoding value: [UInt8]) throws(AgentError) {
        self = try RecordReader.reading(value) { (bytes) throws(AgentError) in
            try HandoffRecord(id: id, decodingBytes: bytes)
        }
    }

    /// `init(id:decoding:)` of the bytes where they are (a value the backend lends).
    init(id: String, decodingBytes value: UnsafeRawBufferPointer) throws(AgentError) {
        var r = try RecordReader(value, naming: .init(type: .handoff, id: id))
        self.init(id: id, from: "", to: "", instructions: "", createdAt: Timestamp(milliseconds: 0))
        var status: UInt64 = 0
        while let (field, v) = try r.next() {
            switch field {
            case 1: from = try r.string(v)
            case 2: to = try r.string(v)
            case 3: task = try r.string(v)
            case 4: instructions = try r.string(v)
            case 5: status = try r.uint(v)
            case 6: result = try r.string(v)
            case 7: reason = try r.string(v)
            case 8: createdAt = try r.time(v)
            case 9: updatedAt = try r.time(v)
            case 10: revision = Int(truncatingIfNeeded: try r.uint(v))
            default: break
            }
        }
        guard let known = HandoffStatus(code: status) else {
            throw AgentError.corrupted("hand-off \(id): stored record has unknown status code \(status)")
        }
        self.status = known
    }
}
