/// A unit of work agents pick up: what it is, where it stands, who has it, what it waits for.
///
/// The record is the truth: every index and every `depends-on` edge is derived from records
/// and rewritten in the same transaction as the record. `revision` counts its changes (1 when
/// created); each change also leaves a `HistoryEntry` with that revision number.
public struct TaskRecord: Sendable, Equatable {
    public var id: String
    public var title: String
    public var description: String
    public var status: TaskStatus
    /// 0 (most urgent) to 4; see `Priority`.
    public var priority: Int
    /// Sorted, without duplicates.
    public var labels: [String]
    /// The agent working on it (set by claim, start or update), or nil.
    public var assignee: String?
    /// Ids of the tasks that must be done before this one is ready. Sorted, no duplicates.
    public var dependsOn: [String]
    public var notes: [TaskNote]
    public var createdAt: Timestamp
    public var createdBy: String
    public var updatedAt: Timestamp
    /// 1 when created, plus one per change.
    public var revision: Int
    /// When the current assignee claimed it (claims only).
    public var claimedAt: Timestamp?
    /// When the current claim lapses unless renewed; then any agent may claim the task.
    public var leaseExpiresAt: Timestamp?
    /// Why it is blocked (status `blocked`).
    public var blockedReason: String?
    /// The task that blocks it, if one was named (also one of `dependsOn`).
    public var blocker: String?
    /// What was learned, given when completing it.
    public var retrospective: String?
    /// When it was done or cancelled.
    public var closedAt: Timestamp?
}

// In an extension, so that the struct keeps its memberwise initializer (every field: the
// decoder's, which builds the record in one piece).
extension TaskRecord {
    public init(
        id: String, title: String, description: String = "", status: TaskStatus = .open,
        priority: Int = Priority.default, labels: [String] = [], assignee: String? = nil,
        dependsOn: [String] = [], notes: [TaskNote] = [], createdAt: Timestamp, createdBy: String,
        updatedAt: Timestamp? = nil, revision: Int = 1
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.status = status
        self.priority = priority
        self.labels = labels
        self.assignee = assignee
        self.dependsOn = dependsOn
        self.notes = notes
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.updatedAt = updatedAt ?? createdAt
        self.revision = revision
    }
}

/// A note added to a task: when, by whom, what.
public struct TaskNote: Sendable, Equatable {
    public var at: Timestamp
    public var by: String
    public var text: String

    public init(at: Timestamp, by: String, text: String) {
        self.at = at
        self.by = by
        self.text = text
    }
}
