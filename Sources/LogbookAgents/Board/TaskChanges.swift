/// What to create a task with. Only `title` is required.
public struct NewTask: Sendable, Equatable {
    public var title: String
    public var description: String
    /// 0 (most urgent) to 4; default 2.
    public var priority: Int
    public var labels: [String]
    /// Tasks the new one waits for.
    public var dependsOn: [String]
    /// Tasks that will wait for the new one (each gets a `depends-on` edge to it).
    public var blocks: [String]
    public var assignee: String?

    public init(
        title: String, description: String = "", priority: Int = Priority.default, labels: [String] = [],
        dependsOn: [String] = [], blocks: [String] = [], assignee: String? = nil
    ) {
        self.title = title
        self.description = description
        self.priority = priority
        self.labels = labels
        self.dependsOn = dependsOn
        self.blocks = blocks
        self.assignee = assignee
    }
}

/// Changes to a task's fields; nil (or empty) leaves a field as it is.
public struct TaskUpdate: Sendable, Equatable {
    /// How to change the assignee.
    public enum Assignment: Sendable, Equatable {
        case keep
        case set(String)
        case clear
    }

    public var title: String?
    public var description: String?
    public var priority: Int?
    /// A new status; the move must be allowed (`TaskStatus.canMove(to:)`).
    public var status: TaskStatus?
    public var assignee: Assignment
    public var addLabels: [String]
    public var removeLabels: [String]
    /// A note to append.
    public var note: String?

    public init(
        title: String? = nil, description: String? = nil, priority: Int? = nil, status: TaskStatus? = nil,
        assignee: Assignment = .keep, addLabels: [String] = [], removeLabels: [String] = [],
        note: String? = nil
    ) {
        self.title = title
        self.description = description
        self.priority = priority
        self.status = status
        self.assignee = assignee
        self.addLabels = addLabels
        self.removeLabels = removeLabels
        self.note = note
    }
}
