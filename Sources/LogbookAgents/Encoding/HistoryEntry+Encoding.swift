// History entry fields: 1 at  2 by  3 action  4 change (repeated, nested: 1 field, 2 old, 3 new).
// The record id and revision are in the key.

extension HistoryEntry: FieldEncodable {
    /// The stored value of this entry (format version 1, type 4; see `RecordWriter`).
    @_spi(Testing) public func encoded() -> [UInt8] { RecordWriter.encode(self, type: .history) }

    func encodeFields<S: FieldSink>(into w: inout S) {
        w.time(1, at)
        w.string(2, by)
        w.string(3, action)
        for change in changes { w.nested(4, change) }
    }

    /// The entry stored as `value` under the history key of `recordID` and `revision`.
    /// - Throws: `corrupted`, naming the record and revision, when `value` is not a history entry
    ///   this code reads.
    @_spi(Testing) public init(recordID: String, revision: Int, decoding value: [UInt8]) throws(AgentError) {
        self = try RecordReader.reading(value) { (bytes) throws(AgentError) in
            try HistoryEntry(recordID: recordID, revision: revision, decodingBytes: bytes)
        }
    }

    /// `init(recordID:revision:decoding:)` of the bytes where they are (a value the backend lends).
    init(recordID: String, revision: Int, decodingBytes value: UnsafeRawBufferPointer) throws(AgentError) {
        var r = try RecordReader(value, naming: .init(type: .history, id: recordID, revision: revision))
        self.init(
            recordID: recordID, revision: revision, at: Timestamp(milliseconds: 0), by: "", action: "",
            changes: [])
        while let (field, v) = try r.next() {
            switch field {
            case 1: at = try r.time(v)
            case 2: by = try r.string(v)
            case 3: action = try r.string(v)
            case 4:
                var c = try r.nested(v)
                var change = FieldChange(field: "", old: nil, new: nil)
                while let (f, cv) = try c.next() {
                    switch f {
                    case 1: change.field = try c.string(cv)
                    case 2: change.old = try c.string(cv)
                    case 3: change.new = try c.string(cv)
                    default: break
                    }
                }
                changes.append(change)
            default: break
            }
        }
    }
}

extension FieldChange: FieldEncodable {
    func encodeFields<S: FieldSink>(into w: inout S) {
        w.string(1, field)
        w.string(2, old)
        w.string(3, new)
    }
}
