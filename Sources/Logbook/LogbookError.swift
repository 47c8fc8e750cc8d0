/// The one error type the engine throws: a small closed set of codes, a message that says what
/// happened and where, and the file, offset and errno when there is one.
///
/// The codes, grouped by when they happen:
///
/// | code | when | CLI exit |
/// | --- | --- | --- |
/// | `invalidArgument` | bad input: key or value too large, empty key, a store path that is not a directory | 2 |
/// | `notFound` | opening a store that does not exist with `createIfMissing: false` | 1 |
/// | `conflict` | a transaction's reads changed before it could commit, after every retry | 3 |
/// | `lockTimeout` | the writer lock stayed held by another process past `lockTimeout` | 4 |
/// | `corrupted` | a checksum or structure check failed; names the file and offset | 5 |
/// | `io` | a system call failed (the message names it and the path) | 6 |
/// | `storeFailed` | a sync or log write failed earlier; this handle refuses writes (fail-stop) | 6 |
/// | `closed` | the handle was closed | 6 |
public struct LogbookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure; callers switch on this.
    public enum Code: String, Sendable, CaseIterable {
        case notFound, conflict, lockTimeout, corrupted, io, storeFailed, invalidArgument, closed
    }

    public var code: Code
    /// One line: what happened, where, and what to do.
    public var message: String
    /// The file concerned, when there is one.
    public var path: String?
    /// The byte offset in `path`, for corruption.
    public var offset: UInt64?
    /// The errno of a failed system call.
    public var errno: Int32?

    public init(
        _ code: Code, _ message: String, path: String? = nil, offset: UInt64? = nil, errno: Int32? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    public var description: String { message }

    /// The `logbook` CLI's exit status for this error.
    public var exitCode: Int32 {
        switch code {
        case .notFound: return 1
        case .invalidArgument: return 2
        case .conflict: return 3
        case .lockTimeout: return 4
        case .corrupted: return 5
        case .io, .storeFailed, .closed: return 6
        }
    }

    static func corrupted(_ what: String, path: String, offset: UInt64) -> LogbookError {
        LogbookError(
            .corrupted, "\(what) in \(path) at offset \(offset); run `logbook verify` for details",
            path: path, offset: offset)
    }

    static func invalid(_ message: String) -> LogbookError { LogbookError(.invalidArgument, message) }
}
