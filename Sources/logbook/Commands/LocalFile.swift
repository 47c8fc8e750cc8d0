// Reading and writing whole files named on the command line (export --out, import FILE): the
// only file system calls the CLI makes itself; everything in a store goes through the engine.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file named on the command line.
enum LocalFile {
    /// The bytes of the file at `path` (`-`: standard input).
    static func read(_ path: String) throws(CLIError) -> [UInt8] {
        if path == "-" { return try Terminal.readStandardInput(limit: Int.max, what: "the input") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            if errno == ENOENT { throw CLIError.notFound("cannot open \(path): \(reason)") }
            throw CLIError.io("cannot open \(path): \(reason)")
        }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError.io("reading \(path) failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return data }
            data.append(contentsOf: chunk[0..<n])
        }
    }

    /// A file being written: created as `PATH.tmp`, renamed over `PATH` by `commit()` after an
    /// fsync, so a reader never sees half a file.
    final class Writer {
        let path: String
        private let temporary: String
        private var fd: Int32
        private var buffer: [UInt8] = []

        init(_ path: String) throws(CLIError) {
            self.path = path
            temporary = path + ".tmp"
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw CLIError.io("cannot create \(temporary): \(String(cString: strerror(errno)))")
            }
        }

        deinit {
            if fd >= 0 {
                close(fd)
                unlink(temporary)
            }
        }

        func write(_ bytes: [UInt8]) throws(CLIError) {
            buffer.append(contentsOf: bytes)
            if buffer.count >= 1 << 16 { try flush() }
        }

        private func flush() throws(CLIError) {
            do throws(CLIError) { try Terminal.writeAll(fd, buffer) } catch {
                throw CLIError.io("writing \(temporary) failed: \(String(cString: strerror(errno)))")
            }
            buffer.removeAll(keepingCapacity: true)
        }

        /// Flushes, syncs and renames the file into place.
        func commit() throws(CLIError) {
            try flush()
            guard fsync(fd) == 0 else {
                throw CLIError.io("fsync \(temporary) failed: \(String(cString: strerror(errno)))")
            }
            close(fd)
            fd = -1
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw CLIError.io("cannot rename \(temporary) to \(path): \(reason)")
            }
        }
    }
}
