// Task record fields (numbers are never reused):
//   1 title  2 description  3 status code  4 priority  5 label (repeated)  6 assignee
//   7 depends-on id (repeated)  8 note (repeated, nested: 1 at, 2 by, 3 text)  9 created at
//   10 created by  11 updated at  12 revision  13 claimed at  14 lease expires at
//   15 blocked reason  16 blocker  17 retrospective  18 closed at
// Times are zigzag varints of milliseconds since the Unix epoch.

extension TaskRecord: FieldEncodable {
    /// The stored value of this task (format version 1, type 1; see `RecordWriter`).
    @_spi(Testing) public func encoded() -> [UInt8] { RecordWriter.encode(self, type: .task) }

    func encodeFields<S: FieldSink>(into w: inout S) {
        w.string(1, title)
        if !description.isEmpty { w.string(2, description) }
        w.uint(3, status.code)
        w.uint(4, UInt64(truncatingIfNeeded: priority))
        w.strings(5, labels)
        w.string(6, assignee)
        w.strings(7, dependsOn)
        for note in notes { w.nested(8, note) }
        w.time(9, createdAt)
        w.string(10, createdBy)
        w.time(11, updatedAt)
        w.uint(12, UInt64(truncatingIfNeeded: revision))
        w.time(13, claimedAt)
        w.time(14, leaseExpiresAt)
        w.string(15, blockedReason)
        w.string(16, blocker)
        w.string(17, retrospective)
        w.time(18, closedAt)
    }

    /// The task stored as `value` under id `id`.
    /// - Throws: `corrupted`, naming the task, when `value` is not a task record this code reads.
    @_spi(Testing) public init(id: String, decoding value: [UInt8]) throws(AgentError) {
        self = try RecordReader.reading(value) { (bytes) throws(AgentError) in
            try TaskRecord.decoded(id: id, from: bytes)
        }
    }

    /// `init(id:decoding:)` of the bytes where they are (a value the backend lends). A function
    /// that returns the record, not an initializer: a throwing initializer built `self` aside
    /// and copied it out through the value witnesses, a retain and release of every field.
    static func decoded(id: String, from value: UnsafeRawBufferPointer) throws(AgentError) -> TaskRecord {
        var r = try RecordReader(value, naming: .init(type: .task, id: id))
        var title = ""
        var description = ""
        var status: UInt64 = 0
        var priority = Priority.default
        var labels: [String] = []
        var assignee: String? = nil
        var dependsOn: [String] = []
        var notes: [TaskNote] = []
        var createdAt = Timestamp(milliseconds: 0)
        var createdBy = ""
        var updatedAt = Timestamp(milliseconds: 0)
        var revision = 1
        var claimedAt: Timestamp? = nil
        var leaseExpiresAt: Timestamp? = nil
        var blockedReason: String? = nil
        var blocker: String? = nil
        var retrospective: String? = nil
        var closedAt: Timestamp? = nil
        while let (field, v) = try r.next() {
            switch field {
            case 1: title = try r.string(v)
            case 2: description = try r.string(v)
            case 3: status = try r.uint(v)
            case 4: priority = Int(truncatingIfNeeded: try r.uint(v))
            case 5: labels.append(try r.string(v))
            case 6: assignee = try r.string(v)
            case 7: dependsOn.append(try r.string(v))
            case 8:
                var n = try r.nested(v)
                var note = TaskNote(at: Timestamp(milliseconds: 0), by: "", text: "")
                while let (f, nv) = try n.next() {
                    switch f {
                    case 1: note.at = try n.time(nv)
                    case 2: note.by = try n.string(nv)
                    case 3: note.text = try n.string(nv)
                    default: break
                    }
                }
                notes.append(note)
            case 9: createdAt = try r.time(v)
            case 10: createdBy = try r.string(v)
            case 11: updatedAt = try r.time(v)
            case 12: revision = Int(truncatingIfNeeded: try r.uint(v))
            case 13: claimedAt = try r.time(v)
            case 14: leaseExpiresAt = try r.time(v)
            case 15: blockedReason = try r.string(v)
            case 16: blocker = try r.string(v)
            case 17: retrospective = try r.string(v)
            case 18: closedAt = try r.time(v)
            default: break  // a field added by a later version
            }
        }
        guard let known = TaskStatus(code: status) else {
            throw AgentError.corrupted("task \(id): stored record has unknown status code \(status)")
        }
        return TaskRecord(
            id: id, title: title, description: description, status: known, priority: priority, labels: labels,
            assignee: assignee, dependsOn: dependsOn, notes: notes, createdAt: createdAt, createdBy: createdBy,
            updatedAt: updatedAt, revision: revision, claimedAt: claimedAt, leaseExpiresAt: leaseExpiresAt,
            blockedReason: blockedReason, blocker: blocker, retrospective: retrospective, closedAt: closedAt)
    }

    /// Only the status of a stored task (stops reading at the status field).
    @_spi(Testing) public static func status(id: String, decoding value: [UInt8]) throws(AgentError) -> TaskStatus {
        try RecordReader.reading(value) { (bytes) throws(AgentError) in try status(id: id, decodingBytes: bytes) }
    }

    /// `status(id:decoding:)` of the bytes where they are.
    static func status(id: String, decodingBytes value: UnsafeRawBufferPointer) throws(AgentError) -> TaskStatus {
        var r = try RecordReader(value, naming: .init(type: .task, id: id))
        while let (field, v) = try r.next() {
            if field == 3 {
                let code = try r.uint(v)
                guard let status = TaskStatus(code: code) else {
                    throw AgentError.corrupted("task \(id): stored record has unknown status code \(code)")
                }
                return status
            }
        }
        return .open
    }
}

extension TaskNote: FieldEncodable {
    func encodeFields<S: FieldSink>(into w: inout S) {
        w.time(1, at)
        w.string(2, by)
        w.string(3, text)
    }
}
