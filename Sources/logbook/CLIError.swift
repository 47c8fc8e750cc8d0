import Logbook

/// An error the CLI reports: the code and exit status of its class, and one line saying what
/// happened and where. Engine errors (`LogbookError`) keep their code and message.
struct CLIError: Error {
    /// One of `LogbookError.Code`'s names (`notFound`, `conflict`, `corrupted`, ...).
    var code: String
    /// The process exit status: 1 not found, 2 usage, 3 conflict, 4 lock time-out, 5 corruption, 6 I/O.
    var exit: Int32
    var message: String
    /// The file concerned, when the engine named one.
    var path: String?
    /// The byte offset in `path`, for corruption.
    var offset: UInt64?

    init(code: String, exit: Int32, _ message: String, path: String? = nil, offset: UInt64? = nil) {
        self.code = code
        self.exit = exit
        self.message = message
        self.path = path
        self.offset = offset
    }

    init(_ error: LogbookError) {
        self.init(
            code: error.code.rawValue, exit: error.exitCode, error.message, path: error.path,
            offset: error.offset)
    }

    /// Exit 2: a bad command line or bad input; nothing was changed.
    static func usage(_ message: String) -> CLIError {
        CLIError(code: LogbookError.Code.invalidArgument.rawValue, exit: 2, message)
    }

    /// Exit 1: the key (or the store) does not exist.
    static func notFound(_ message: String) -> CLIError {
        CLIError(code: LogbookError.Code.notFound.rawValue, exit: 1, message)
    }

    /// Exit 3: a failed check, compare-and-swap or counter update; nothing was written.
    static func conflict(_ message: String) -> CLIError {
        CLIError(code: LogbookError.Code.conflict.rawValue, exit: 3, message)
    }

    /// Exit 6: a system call of the CLI itself (reading stdin, writing stdout) failed.
    static func io(_ message: String) -> CLIError {
        CLIError(code: LogbookError.Code.io.rawValue, exit: 6, message)
    }

    /// Any error as a `CLIError`.
    static func from(_ error: any Error) -> CLIError {
        if let error = error as? CLIError { return error }
        if let error = error as? LogbookError { return CLIError(error) }
        return CLIError(code: LogbookError.Code.io.rawValue, exit: 6, "unexpected error: \(error)")
    }

    /// The line written to stderr: `logbook: MESSAGE`, or with `json` the error object.
    func rendered(json: Bool) -> [UInt8] {
        let oneLine = String(message.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
        guard json else { return Array("logbook: \(oneLine)\n".utf8) }
        var out = JSONLine()
        out.raw("{\"error\":{")
        out.field("code", string: code)
        out.field("exit", number: Int(exit))
        out.field("message", string: oneLine)
        if let path { out.field("path", string: path) }
        if let offset { out.field("offset", number: Int(offset)) }
        out.raw("}}\n")
        return out.bytes
    }
}
