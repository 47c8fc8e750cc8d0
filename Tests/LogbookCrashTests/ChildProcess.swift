#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A `logbook-test-helper` child process started with posix_spawn, its stdout and stderr on
/// pipes. The parent reads stdout as lines; nothing here waits for end-of-file (another test's
/// child may have inherited a pipe end), only for lines, with time-outs, and for the child's exit.
final class ChildProcess {
    /// How a child ended, decoded from waitpid's status.
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    /// The helper executable: built beside the test binary (`.build/<config>/`).
    static var helperPath: String {
        let me = CommandLine.arguments.first ?? ""
        guard let slash = me.lastIndex(of: "/") else { return "./logbook-test-helper" }
        return String(me[..<slash]) + "/logbook-test-helper"
    }

    let pid: pid_t
    let arguments: [String]
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private var pending: [UInt8] = []
    private var errorBytes: [UInt8] = []
    /// Every complete line the child wrote to stdout and the parent has read so far.
    private(set) var lines: [String] = []
    private var consumed = 0
    private(set) var termination: Termination?

    /// Spawns `logbook-test-helper` with `arguments`; stdin is /dev/null.
    init(_ arguments: [String]) throws {
        self.arguments = arguments
        let path = Self.helperPath
        guard access(path, X_OK) == 0 else {
            throw ChildError("\(path) is missing: run `swift build` first (it builds logbook-test-helper)")
        }
        let out = try Self.makePipe()
        let err = try Self.makePipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out.write, 1)
        posix_spawn_file_actions_adddup2(&actions, err.write, 2)
        // Every pipe end is close-on-exec, so the child keeps only its stdout and stderr.

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, &attributes, argv, environ)
        Glibc.close(out.write)
        Glibc.close(err.write)
        guard result == 0 else {
            Glibc.close(out.read)
            Glibc.close(err.read)
            throw ChildError("posix_spawn \(path): \(String(cString: strerror(result)))")
        }
        pid = child
        stdoutFD = out.read
        stderrFD = err.read
    }

    deinit {
        if termination == nil {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        Glibc.close(stdoutFD)
        Glibc.close(stderrFD)
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ChildError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }

    // MARK: output

    /// Reads whatever stdout and stderr hold now, without blocking.
    func readAvailable() {
        drain(stdoutFD, into: &pending)
        drain(stderrFD, into: &errorBytes)
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: pending[..<newline], as: UTF8.self))
            pending.removeSubrange(...newline)
        }
    }

    private func drain(_ fd: Int32, into bytes: inout [UInt8]) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: chunk[..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return  // EAGAIN (nothing now) or 0 (end of file)
            }
        }
    }

    /// Keeps reading stdout for `seconds`, so a chatty child never blocks on a full pipe.
    func collect(for seconds: Double) {
        let deadline = Clock.now + seconds
        while true {
            readAvailable()
            let left = deadline - Clock.now
            if left <= 0 { return }
            poll(timeout: left)
        }
    }

    /// The next line not yet returned, waiting up to `timeout` seconds for it; nil on time-out
    /// or when the child exited without writing one.
    func nextLine(timeout: Double) -> String? {
        let deadline = Clock.now + timeout
        while true {
            readAvailable()
            if consumed < lines.count {
                consumed += 1
                return lines[consumed - 1]
            }
            if termination != nil || hasExited() {
                readAvailable()
                if consumed < lines.count { continue }
                return nil
            }
            let left = deadline - Clock.now
            if left <= 0 { return nil }
            poll(timeout: min(left, 0.05))
        }
    }

    /// Waits for the next line and checks that it is `expected`.
    func expectLine(_ expected: String, timeout: Double = 30) throws {
        guard let line = nextLine(timeout: timeout) else {
            throw ChildError("\(self) wrote no `\(expected)` line within \(timeout) s; stderr: \(stderrText)")
        }
        guard line == expected else {
            throw ChildError(
                "\(self) wrote `\(line)` where `\(expected)` was expected; stderr: \(stderrText)")
        }
    }

    private func poll(timeout seconds: Double) {
        var fds = [pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)]
        _ = Glibc.poll(&fds, 1, Int32(max(1, (seconds * 1000).rounded(.up))))
    }

    /// What the child wrote to stderr so far.
    var stderrText: String {
        readAvailable()
        return String(decoding: errorBytes, as: UTF8.self)
    }

    // MARK: life and death

    func kill(_ signal: Int32 = SIGKILL) { Glibc.kill(pid, signal) }

    /// Reaps the child if it has exited; true when it has.
    private func hasExited() -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return false }
        termination = Self.decode(status)
        return true
    }

    /// Waits (up to `timeout` seconds, then kills it) for the child to end, reaps it and reads
    /// the rest of its output.
    @discardableResult
    func wait(timeout: Double = 60) -> Termination {
        if let termination { return termination }
        let deadline = Clock.now + timeout
        while !hasExited() {
            readAvailable()
            if Clock.now >= deadline {
                kill(SIGKILL)
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                termination = Self.decode(status)
                break
            }
            poll(timeout: 0.01)
        }
        readAvailable()
        return termination!
    }

    private static func decode(_ status: Int32) -> Termination {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }
}

extension ChildProcess: CustomStringConvertible {
    var description: String { "logbook-test-helper \(arguments.joined(separator: " ")) (pid \(pid))" }
}

/// A failure to run or talk to a child process.
struct ChildError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Monotonic seconds.
enum Clock {
    static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
