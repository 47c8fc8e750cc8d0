/// Work passed from one agent to another, with instructions, and what came of it.
public struct HandoffRecord: Sendable, Equatable {
    public var id: String
    public var from: String
    public var to: String
    /// The task handed off, if any.
    public var task: String?
    public var instructions: String
    public var status: HandoffStatus
    /// What the receiving agent reports when completing it.
    public var result: String?
    /// Why the receiving agent rejected it.
    public var reason: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var revision: Int

    public init(
        id: String, from: String, to: String, task: String? = nil, instructions: String,
        status: HandoffStatus = .initiated, createdAt: Timestamp, revision: Int = 1
    ) {
        self.id = id
        self.from = from
        self.to = to
        self.task = task
        self.instructions = instructions
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.revision = revision
    }
}

/// initiated → accepted → completed; initiated or accepted → rejected.
public enum HandoffStatus: String, Sendable, CaseIterable {
    case initiated, accepted, completed, rejected

    var code: UInt64 {
        switch self {
        case .initiated: return 0
        case .accepted: return 1
        case .completed: return 2
        case .rejected: return 3
        }
    }

    init?(code: UInt64) {
        switch code {
        case 0: self = .initiated
        case 1: self = .accepted
        case 2: self = .completed
        case 3: self = .rejected
        default: return nil
        }
    }

    public static func parse(_ text: String) throws(AgentError) -> HandoffStatus {
        guard let status = HandoffStatus(rawValue: text) else {
            throw AgentError.invalid(
                "unknown hand-off status \"\(text)\" (expected initiated, accepted, completed or rejected)")
        }
        return status
    }
}
