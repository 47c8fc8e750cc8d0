/// Which tasks `AgentBoard.tasks(_:)` lists, in what order, how many.
///
/// Every filter can drive the listing from its index (ready, blocked, assignee, label, status,
/// priority: the first one given in that order drives, the others filter what it yields). The
/// indexes list tasks by priority, then id (creation time to the second), so with the default sort a listing with a limit
/// reads only the index entries and records it returns (plus those other filters reject).
public struct TaskQuery: Sendable, Equatable {
    public var status: TaskStatus?
    public var priority: Int?
    public var label: String?
    public var assignee: String?
    /// Only tasks that cannot go on: status blocked, or waiting for an unfinished dependency.
    public var blocked: Bool
    /// Only ready tasks: open, unassigned, every dependency done; and claims whose lease lapsed
    /// (they are ready again, and the next claim returns them to the pool).
    public var ready: Bool
    public var limit: Int?
    public var sort: TaskSort

    public init(
        status: TaskStatus? = nil, priority: Int? = nil, label: String? = nil, assignee: String? = nil,
        blocked: Bool = false, ready: Bool = false, limit: Int? = nil, sort: TaskSort = .priority
    ) {
        self.status = status
        self.priority = priority
        self.label = label
        self.assignee = assignee
        self.blocked = blocked
        self.ready = ready
        self.limit = limit
        self.sort = sort
    }
}

/// The order of a task listing.
public enum TaskSort: String, Sendable, CaseIterable {
    /// Most urgent first, then oldest first (the order of every index: cheapest).
    case priority
    /// Oldest first (by id, which starts with the creation time).
    case created
    /// Most recently changed first.
    case updated

    public static func parse(_ text: String) throws(AgentError) -> TaskSort {
        guard let sort = TaskSort(rawValue: text) else {
            throw AgentError.invalid("unknown sort \"\(text)\" (expected priority, created or updated)")
        }
        return sort
    }
}
