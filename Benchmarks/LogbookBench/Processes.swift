#if canImport(Glibc)
    import Glibc
#endif

/// Child processes of the bench: the bench re-executes itself (`/proc/self/exe`) with a hidden
/// `--worker` argument, so multi-process workloads run real, separate processes.
enum Processes {
    /// The running executable.
    static let selfPath: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Starts this executable with `arguments`; `descriptors` maps a child fd (e.g. 1, 3) to the
    /// parent fd it becomes.
    static func spawnSelf(_ arguments: [String], descriptors: [Int32: Int32] = [:]) -> pid_t {
        spawn(selfPath, arguments, descriptors: descriptors)
    }

    /// Starts the executable at `path` with `arguments`; `descriptors` as for `spawnSelf`.
    static func spawn(_ path: String, _ arguments: [String], descriptors: [Int32: Int32] = [:]) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (child, parent) in descriptors.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_adddup2(&actions, parent, child)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, environ)
        if result != 0 { fail("posix_spawn \(path): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Waits for `pid`; returns its raw wait status.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { fail("waitpid: \(String(cString: strerror(errno)))") }
        }
        return status
    }

    /// Exit code of a normally ended child, or nil when a signal ended it.
    static func exitCode(_ status: Int32) -> Int32? { (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil }

    /// The signal that ended a child, or nil when it exited.
    static func signal(_ status: Int32) -> Int32? {
        let number = status & 0x7f
        return number != 0 && number != 0x7f ? number : nil
    }

    /// A pipe whose two ends close on exec (children get them only through `descriptors`).
    static func pipe() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { fail("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Reads `fd` to end of file.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return result }
            result += buffer[0..<n]
        }
    }

    /// Reads exactly one 64-bit word from `fd`; nil at end of file.
    static func readWord(_ fd: Int32) -> UInt64? {
        var word: UInt64 = 0
        var done = 0
        while done < 8 {
            let n = withUnsafeMutableBytes(of: &word) { read(fd, $0.baseAddress! + done, 8 - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            done += n
        }
        return word
    }

    /// Writes one 64-bit word to `fd` (atomic on a pipe: below PIPE_BUF).
    static func writeWord(_ fd: Int32, _ value: UInt64) { writeWords(fd, [value]) }

    /// Writes `values` to `fd` in one write(2), so that on a pipe (below PIPE_BUF) no other
    /// process's words come between them.
    static func writeWords(_ fd: Int32, _ values: [UInt64]) {
        let n = values.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n != 8 * values.count { fail("write to pipe: \(String(cString: strerror(errno)))") }
    }

    /// Runs `body(i)` on `count` threads at once and waits for all of them.
    static func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        final class Job: @unchecked Sendable {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        var threads: [pthread_t] = []
        for i in 0..<count {
            let job = Unmanaged.passRetained(Job { body(i) }).toOpaque()
            var thread = pthread_t()
            let result = pthread_create(
                &thread, nil,
                { raw in
                    Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().run()
                    return nil
                }, job)
            if result != 0 { fail("pthread_create: \(String(cString: strerror(result)))") }
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}

/// Stops the bench with a message: a bench that cannot measure honestly measures nothing.
func fail(_ message: String) -> Never {
    var text = "logbook-bench: \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

/// Prints a progress line to standard error.
func progress(_ message: String) {
    var text = message + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
