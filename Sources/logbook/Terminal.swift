// The CLI's only system calls of its own: reading stdin, writing stdout and stderr, the
// environment, the raw argument bytes, and exit. Everything else goes through the engine.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Standard input, output and error, the environment, and the process's arguments as bytes.
enum Terminal {
    /// Whether standard error is a terminal (progress is shown only then).
    static var standardErrorIsTerminal: Bool { isatty(2) == 1 }

    /// Rewrites the progress line on standard error; nil clears it.
    static func progress(_ text: String?) {
        let line = "\r\u{1B}[K" + (text ?? "")
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }

    /// The command-line arguments after the program name, as their exact bytes (no UTF-8 repair).
    static func arguments() -> [[UInt8]] {
        (1..<Int(CommandLine.argc)).map { i in
            guard let pointer = CommandLine.unsafeArgv[i] else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
        }
    }

    /// The environment variable `name`, nil when unset.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Reads standard input to its end. Fails with a usage error (exit 2) once more than `limit`
    /// bytes arrive, without reading further.
    static func readStandardInput(limit: Int, what: String) throws(CLIError) -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError.io("reading \(what) from stdin failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return data }
            data.append(contentsOf: chunk[0..<n])
            if data.count > limit {
                throw CLIError.usage("\(what) on stdin is larger than the limit of \(limit) bytes")
            }
        }
    }

    /// Writes all of `bytes` to `fd`, looping over short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(CLIError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress! + done, raw.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let name = fd == 1 ? "stdout" : "stderr"
                throw CLIError.io("writing to \(name) failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// Writes `bytes` to stderr, ignoring failure (there is nowhere left to report it).
    static func writeError(_ bytes: [UInt8]) {
        _ = try? writeAll(2, bytes)
    }

    /// Ends the process with `status`.
    static func exit(_ status: Int32) -> Never {
        #if canImport(Glibc)
            Glibc.exit(status)
        #elseif canImport(Musl)
            Musl.exit(status)
        #else
            Darwin.exit(status)
        #endif
    }
}

/// Buffered standard output: commands append, `flush()` writes (at 64 KiB, on demand, at exit).
final class Output {
    private var buffer: [UInt8] = []
    private static let threshold = 1 << 16

    init() { buffer.reserveCapacity(Self.threshold) }

    func write(_ bytes: [UInt8]) throws(CLIError) {
        buffer.append(contentsOf: bytes)
        try flushIfFull()
    }

    func write(_ text: String) throws(CLIError) { try write(Array(text.utf8)) }

    /// Appends bytes the caller only lends (a key or value `Store.visit` hands over).
    func write(_ bytes: UnsafeRawBufferPointer) throws(CLIError) {
        buffer.append(contentsOf: bytes)
        try flushIfFull()
    }

    func write(byte: UInt8) throws(CLIError) {
        buffer.append(byte)
        try flushIfFull()
    }

    private func flushIfFull() throws(CLIError) {
        if buffer.count >= Self.threshold { try flush() }
    }

    func flush() throws(CLIError) {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try Terminal.writeAll(1, buffer)
    }
}
