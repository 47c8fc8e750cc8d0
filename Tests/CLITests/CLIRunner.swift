// Runs the built `logbook` binary in a child process (posix_spawn) with pipes for stdin,
// stdout and stderr, an environment the test controls, and optionally a working directory.

import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a finished `logbook` process left behind.
struct CLIResult {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// A running child process with pipes to its stdin, stdout and stderr.
final class Child {
    let pid: pid_t
    private var input: Int32
    private var output: Int32
    private var errors: Int32

    /// Starts `executable` with `arguments` (argv[1...]) and exactly `environment`, but for
    /// `LLVM_PROFILE_FILE`: set in coverage runs (`swift test --enable-code-coverage`), it is
    /// passed on, so that the lines the CLI runs are counted too.
    init(executable: String, arguments: [[UInt8]], environment: [String: String], directory: String? = nil) {
        var environment = environment
        if environment["LLVM_PROFILE_FILE"] == nil, let profile = getenv("LLVM_PROFILE_FILE") {
            environment["LLVM_PROFILE_FILE"] = String(cString: profile)
        }
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        // O_CLOEXEC: children spawned concurrently by other tests must not inherit these ends.
        precondition(
            GNU.pipe2(&inPipe, O_CLOEXEC) == 0 && GNU.pipe2(&outPipe, O_CLOEXEC) == 0
                && GNU.pipe2(&errPipe, O_CLOEXEC) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let directory { precondition(GNU.addchdir(&actions, directory) == 0) }

        // The child starts with default signal handling (SIGPIPE included), whatever ours is.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] =
            ([Array(executable.utf8)] + arguments).map { bytes in
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
                p[bytes.count] = 0
                return p
            } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { p?.deallocate() }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        precondition(rc == 0, "posix_spawn \(executable) failed: \(rc)")
        self.pid = pid
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        input = inPipe[1]
        output = outPipe[0]
        errors = errPipe[0]
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
    }

    /// Writes `stdin` (then closes it) while reading stdout and stderr to their ends, then
    /// reaps the child. A child that exits without reading its input is fine (EPIPE).
    func finish(stdin: [UInt8] = []) -> CLIResult {
        signal(SIGPIPE, SIG_IGN)
        var written = 0
        var result = CLIResult(status: -1, stdout: [], stderr: [])
        if stdin.isEmpty { closeInput() }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while output >= 0 || errors >= 0 {
            var fds: [pollfd] = []
            if input >= 0 { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            if output >= 0 { fds.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
            if errors >= 0 { fds.append(pollfd(fd: errors, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 && errno == EINTR { continue }
            precondition(ready >= 0)
            for entry in fds where entry.revents != 0 {
                if entry.fd == input {
                    let n = stdin.withUnsafeBytes { raw in
                        write(input, raw.baseAddress! + written, raw.count - written)
                    }
                    if n > 0 { written += n }
                    if n < 0 && errno != EAGAIN && errno != EINTR { closeInput() }  // EPIPE: child is gone
                    if written == stdin.count { closeInput() }
                } else {
                    let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 {
                        close(entry.fd)
                        if entry.fd == output { output = -1 } else { errors = -1 }
                    } else if entry.fd == output {
                        result.stdout += buffer[0..<n]
                    } else {
                        result.stderr += buffer[0..<n]
                    }
                }
            }
        }
        closeInput()
        result.status = Self.wait(pid)
        return result
    }

    private func closeInput() {
        if input >= 0 {
            close(input)
            input = -1
        }
    }

    /// Waits for `pid`; returns its exit status, or 128 + the signal that killed it.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            precondition(errno == EINTR, "waitpid failed: \(errno)")
        }
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }
}

/// glibc calls Swift's Glibc module leaves out (they need _GNU_SOURCE), looked up at run time.
enum GNU {
    private static func symbol<T>(_ name: String, as type: T.Type) -> T {
        // dlopen(NULL) is the main program and its libraries (libc); repeated calls are cheap.
        guard let address = dlsym(dlopen(nil, RTLD_NOW), name) else { fatalError("dlsym \(name) failed") }
        return unsafeBitCast(address, to: type)
    }

    /// pipe2(2): a pipe whose ends are created with `flags` (O_CLOEXEC) atomically.
    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        symbol("pipe2", as: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)(fds, flags)
    }

    /// posix_spawn_file_actions_addchdir_np(3): the child changes to `path` before exec.
    static func addchdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        symbol(
            "posix_spawn_file_actions_addchdir_np",
            as: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) ->
                Int32)
                .self)(actions, path)
    }
}

/// The `logbook` binary under test and helpers to run it.
enum CLI {
    /// `logbook`, beside the test binary (`.build/debug/`).
    static let binary: String = {
        let me = CommandLine.arguments[0]
        let directory = me.lastIndex(of: "/").map { String(me[..<$0]) } ?? "."
        return directory + "/logbook"
    }()

    /// A clean environment: PATH only, plus `extra`. No LOGBOOK_* variables leak in.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["PATH": "/usr/bin:/bin"]
        for (k, v) in extra { environment[k] = v }
        return environment
    }

    /// Runs `logbook ARGS` to completion.
    static func run(
        _ arguments: [String], stdin: [UInt8] = [], env: [String: String] = [:], cwd: String? = nil
    ) -> CLIResult {
        runBytes(arguments.map { Array($0.utf8) }, stdin: stdin, env: env, cwd: cwd)
    }

    /// Runs `logbook` with arguments given as raw bytes.
    static func runBytes(
        _ arguments: [[UInt8]], stdin: [UInt8] = [], env: [String: String] = [:], cwd: String? = nil
    ) -> CLIResult {
        Child(executable: binary, arguments: arguments, environment: environment(env), directory: cwd)
            .finish(stdin: stdin)
    }
}

/// A fresh temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/logbook-cli-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A path inside the directory.
    func at(_ name: String) -> String { path + "/" + name }

    /// The default store location used by these tests.
    var store: String { at("store") }

    func remove() {
        let result = Child(
            executable: "/bin/rm", arguments: [Array("-rf".utf8), Array(path.utf8)], environment: [:]
        )
        .finish()
        precondition(result.status == 0)
    }

    /// Whether anything exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Creates the directory `path`.
    static func makeDirectory(_ path: String) {
        precondition(mkdir(path, 0o755) == 0, "mkdir \(path) failed")
    }

    /// The bytes of the file at `path`.
    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        precondition(fd >= 0, "open \(path) failed")
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            precondition(n >= 0)
            if n == 0 { return data }
            data += buffer[0..<n]
        }
    }

    /// Replaces the file at `path` with `bytes`.
    /// The file's bytes without the zeros at its end: a log's records without the space a
    /// `normal` writer allocated ahead (the tests' records end in a byte that is not zero).
    static func content(_ path: String) -> [UInt8] {
        var bytes = read(path)
        while bytes.last == 0 { bytes.removeLast() }
        return bytes
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0o644)
        precondition(fd >= 0, "open \(path) failed")
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(n == bytes.count)
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
