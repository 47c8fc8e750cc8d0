// The history entry of a task's creation, encoded straight from the record: the bytes of
// `HistoryEntry(..., changes: task.changes(from: nil)).encoded()` (a test checks they are the
// same for random records), without building the `FieldChange` list, the joined label and
// dependency strings, or the entry. Creating tasks is the layer's hot path.

extension TaskRecord {
    /// The encoded history entry saying that `actor` made this task at `at` (`action`, e.g.
    /// `created`), listing every field set, as `changes(from: nil)` does.
    @_spi(Testing) public func creationHistory(at: Timestamp, by actor: String, action: String) -> [UInt8] {
        var counter = FieldCounter()
        writeCreationHistory(at: at, by: actor, action: action, into: &counter)
        return RecordWriter.bytes(count: 2 + counter.count, from: self) { out, task in
            out.byte(RecordWriter.formatVersion)
            out.byte(RecordType.history.rawValue)
            task.writeCreationHistory(at: at, by: actor, action: action, into: &out)
        }
    }

    /// The fields of the entry; the change list follows `changes(from:)` with no old record.
    private func writeCreationHistory<S: FieldSink>(
        at: Timestamp, by actor: String, action: String, into w: inout S
    ) {
        w.time(1, at)
        w.string(2, actor)
        w.string(3, action)
        w.creation("title", title)
        if !description.isEmpty { w.creation("description", description) }
        w.creation("status", status.rawValue)
        w.creation("priority", Self.priorityText(priority))
        if !labels.isEmpty { w.creation("labels", joining: labels) }
        if let assignee { w.creation("assignee", assignee) }
        if !dependsOn.isEmpty { w.creation("depends_on", joining: dependsOn) }
        for note in notes { w.creation("note", note.text) }
        if let claimedAt { w.creation("claimed_at", claimedAt.iso8601) }
        if let leaseExpiresAt { w.creation("lease_expires_at", leaseExpiresAt.iso8601) }
        if let blockedReason { w.creation("blocked_reason", blockedReason) }
        if let blocker { w.creation("blocker", blocker) }
        if let retrospective { w.creation("retrospective", retrospective) }
        if let closedAt { w.creation("closed_at", closedAt.iso8601) }
    }

    /// A priority as history text (`String(priority)`, without formatting the usual ones).
    static func priorityText(_ priority: Int) -> String {
        switch priority {
        case 0: "0"
        case 1: "1"
        case 2: "2"
        case 3: "3"
        case 4: "4"
        default: String(priority)
        }
    }
}

extension FieldSink {
    /// A history change (field 4) from nothing to `new`: a nested record of field 1 (the field
    /// name) and field 3 (the new value); field 2 (the old value) is absent.
    @inline(__always)
    fileprivate mutating func creation(_ field: String, _ new: String) {
        creationHeader(field, newLength: new.utf8.count)
        string(3, new)
    }

    /// The start of a history change from nothing: the nested record's header and field 1, for
    /// a new value of `newLength` bytes that the caller writes next as field 3.
    @inline(__always)
    private mutating func creationHeader(_ field: String, newLength: Int) {
        let fieldLength = field.utf8.count
        let size =
            2 + RecordWriter.varintSize(UInt64(fieldLength)) + fieldLength
            + RecordWriter.varintSize(UInt64(newLength)) + newLength
        byte(4 << 1 | 1)
        varint(UInt64(size))
        string(1, field)
    }

    /// A history change from nothing to `values` joined by commas.
    fileprivate mutating func creation(_ field: String, joining values: [String]) {
        var newLength = values.count - 1
        for value in values { newLength += value.utf8.count }
        creationHeader(field, newLength: newLength)
        byte(3 << 1 | 1)
        varint(UInt64(newLength))
        for (i, value) in values.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            utf8(value)
        }
    }
}
