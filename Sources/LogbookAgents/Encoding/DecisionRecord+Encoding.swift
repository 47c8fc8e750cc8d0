// Decision record fields: 1 text  2 rationale  3 alternative (repeated)  4 affected task id
// (repeated)  5 created at  6 created by  7 revision.

extension DecisionRecord: FieldEncodable {
    /// The stored value of this decision (format version 1, type 2; see `RecordWriter`).
    @_spi(Testing) public func encoded() -> [UInt8] { RecordWriter.encode(self, type: .decision) }

    func encodeFields<S: FieldSink>(into w: inout S) {
        w.string(1, text)
        if !rationale.isEmpty { w.string(2, rationale) }
        w.strings(3, alternatives)
        w.strings(4, affects)
        w.time(5, createdAt)
        w.string(6, createdBy)
        w.uint(7, UInt64(truncatingIfNeeded: revision))
    }

    /// The decision stored as `value` under id `id`.
    /// - Throws: `corrupted`, naming the decision, when `value` is not a decision record this code reads.
    @_spi(Testing) public init(id: String, decoding value: [UInt8]) throws(AgentError) {
        self = try RecordReader.reading(value) { (bytes) throws(AgentError) in
            try DecisionRecord(id: id, decodingBytes: bytes)
        }
    }

    /// `init(id:decoding:)` of the bytes where they are (a value the backend lends).
    init(id: String, decodingBytes value: UnsafeRawBufferPointer) throws(AgentError) {
        var r = try RecordReader(value, naming: .init(type: .decision, id: id))
        self.init(id: id, text: "", createdAt: Timestamp(milliseconds: 0), createdBy: "")
        while let (field, v) = try r.next() {
            switch field {
            case 1: text = try r.string(v)
            case 2: rationale = try r.string(v)
            case 3: alternatives.append(try r.string(v))
            case 4: affects.append(try r.string(v))
            case 5: createdAt = try r.time(v)
            case 6: createdBy = try r.string(v)
            case 7: revision = Int(truncatingIfNeeded: try r.uint(v))
            default: break
            }
        }
    }
}
