/// The errors the agent layer throws itself (the backend's own errors, such as Logbook's
/// `LogbookError`, pass through unchanged). Nothing is written when one is thrown.
///
/// | code | when | CLI exit |
/// | --- | --- | --- |
/// | `notFound` | an unknown task, decision or hand-off id; nothing ready to claim | 1 |
/// | `invalidArgument` | bad input: an empty title, a malformed id, a priority out of range | 2 |
/// | `conflict` | a precondition failed: a claim lost to another agent, a status change the state machine forbids, a dependency cycle | 3 |
/// | `corrupted` | a stored record cannot be decoded | 5 |
public struct AgentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure; callers switch on this.
    public enum Code: String, Sendable, CaseIterable {
        case notFound, invalidArgument, conflict, corrupted
    }

    public var code: Code
    /// One line: what happened and to which record.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The `logbook` CLI's exit status for this error (as for the key-value commands).
    public var exitCode: Int32 {
        switch code {
        case .notFound: return 1
        case .invalidArgument: return 2
        case .conflict: return 3
        case .corrupted: return 5
        }
    }

    static func notFound(_ message: String) -> AgentError { AgentError(.notFound, message) }
    static func invalid(_ message: String) -> AgentError { AgentError(.invalidArgument, message) }
    static func conflict(_ message: String) -> AgentError { AgentError(.conflict, message) }
    static func corrupted(_ message: String) -> AgentError { AgentError(.corrupted, message) }
}
