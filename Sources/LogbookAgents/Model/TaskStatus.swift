/// Where a task is in its life.
///
///     open ──start/claim──▶ in_progress ──complete──▶ done
///       │  ◀──release/update──┘   │                     │
///       ├──block──▶ blocked ◀─────┘          reopen (update --status open)
///       └──cancel (update)──▶ cancelled ──reopen──▶ open
///
/// The allowed moves are `canMove(to:)`; anything else fails with `conflict`.
public enum TaskStatus: String, Sendable, CaseIterable, Comparable {
    case open
    case inProgress = "in_progress"
    case blocked
    case done
    case cancelled

    /// The stored code (never renumbered).
    var code: UInt64 {
        switch self {
        case .open: return 0
        case .inProgress: return 1
        case .blocked: return 2
        case .done: return 3
        case .cancelled: return 4
        }
    }

    init?(code: UInt64) {
        switch code {
        case 0: self = .open
        case 1: self = .inProgress
        case 2: self = .blocked
        case 3: self = .done
        case 4: self = .cancelled
        default: return nil
        }
    }

    /// Whether work on the task is over (done or cancelled).
    public var isClosed: Bool { self == .done || self == .cancelled }

    /// Whether the state machine allows moving from this status to `next` (staying put is not
    /// a move).
    ///
    /// | from | to |
    /// | --- | --- |
    /// | open | in_progress, blocked, done, cancelled |
    /// | in_progress | open, blocked, done, cancelled |
    /// | blocked | open, in_progress, cancelled |
    /// | done | open |
    /// | cancelled | open |
    public func canMove(to next: TaskStatus) -> Bool {
        switch (self, next) {
        case (.open, .inProgress), (.open, .blocked), (.open, .done), (.open, .cancelled): return true
        case (.inProgress, .open), (.inProgress, .blocked), (.inProgress, .done), (.inProgress, .cancelled):
            return true
        case (.blocked, .open), (.blocked, .inProgress), (.blocked, .cancelled): return true
        case (.done, .open), (.cancelled, .open): return true
        default: return false
        }
    }

    public static func < (a: TaskStatus, b: TaskStatus) -> Bool { a.code < b.code }

    /// Parses `open`, `in_progress` (also `in-progress`), `blocked`, `done`, `cancelled`.
    public static func parse(_ text: String) throws(AgentError) -> TaskStatus {
        if let status = TaskStatus(rawValue: text) { return status }
        if text == "in-progress" { return .inProgress }
        throw AgentError.invalid(
            "unknown task status \"\(text)\" (expected open, in_progress, blocked, done or cancelled)")
    }
}
