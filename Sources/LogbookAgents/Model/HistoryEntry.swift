/// One change to a task, decision or hand-off: which revision it made, when, who, what.
/// Written in the same transaction as the change; kept after a task is deleted.
public struct HistoryEntry: Sendable, Equatable {
    /// The record changed.
    public var recordID: String
    /// The record's revision after the change (1: created).
    public var revision: Int
    public var at: Timestamp
    public var by: String
    /// `created`, `updated`, `started`, `claimed`, `released`, `lease-expired`, `completed`,
    /// `blocked`, `dependencies`, `deleted`, `accepted`, `rejected`, ...
    public var action: String
    /// The fields that changed, with their old and new values as text.
    public var changes: [FieldChange]

    public init(
        recordID: String, revision: Int, at: Timestamp, by: String, action: String, changes: [FieldChange]
    ) {
        self.recordID = recordID
        self.revision = revision
        self.at = at
        self.by = by
        self.action = action
        self.changes = changes
    }
}

/// A field's value before and after a change (nil: unset).
public struct FieldChange: Sendable, Equatable {
    public var field: String
    public var old: String?
    public var new: String?

    public init(field: String, old: String?, new: String?) {
        self.field = field
        self.old = old
        self.new = new
    }
}
