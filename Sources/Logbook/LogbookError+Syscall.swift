extension LogbookError {
    /// An `io` error from a failed system call, naming the call, the file and the reason.
    init(_ error: SystemError, path: String? = nil) {
        let file = error.path ?? path
        let place = file.map { " on \($0)" } ?? ""
        self.init(
            .io, "\(error.operation) failed\(place): \(error.reason) (errno \(error.errno))", path: file,
            errno: error.errno)
    }
}

/// Runs a file-layer operation, turning its `SystemError` into a `LogbookError`.
@inline(__always)
func io<T>(_ path: String? = nil, _ body: () throws(SystemError) -> T) throws(LogbookError) -> T {
    do { return try body() } catch { throw LogbookError(error, path: path) }
}
