// The one seam between Logbook and the operating system. Every libc call the engine
// makes goes through this file: EINTR is retried here and nowhere else, errno becomes a
// `SystemError`, and tests swap the `FileLayer` to inject faults (EIO, ENOSPC, short
// writes, failed syncs, simulated power loss) or to count syncs.

import CLogbookShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed system call: the call's name, the path it concerned, and errno.
@_spi(Testing) public struct SystemError: Error, Sendable, Equatable {
    public var operation: String
    public var path: String?
    public var errno: Int32

    public init(operation: String, path: String? = nil, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// strerror text for the code.
    public var reason: String { String(cString: strerror(errno)) }

    public static let eio: Int32 = EIO
    public static let enospc: Int32 = ENOSPC
    public static let enoent: Int32 = ENOENT
    public static let eexist: Int32 = EEXIST
}

/// How a file is opened.
@_spi(Testing) public enum OpenMode: Sendable {
    case readOnly
    case readWrite
    /// Read-write, created (mode 0644) when missing.
    case createReadWrite
    /// Read-write, created; fails with EEXIST when the file exists.
    case createExclusive
}

/// What a path names.
@_spi(Testing) public enum FileKind: Sendable, Equatable {
    case regular, directory, other
}

/// The file operations the engine performs. `PosixFileLayer` is the real one; tests wrap it to
/// count calls or inject faults. Each call is one system call (EINTR retried); loops over short
/// reads and writes live above this layer (`FileLayer.writeAll`), so injected short writes are
/// exercised by the engine's own code.
@_spi(Testing) public protocol FileLayer: Sendable {
    func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32
    func close(_ fd: Int32)
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError)
        -> Int
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int
    /// fdatasync (`dataOnly`) or fsync.
    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError)
    func truncate(_ fd: Int32, to size: UInt64) throws(SystemError)
    func size(_ fd: Int32) throws(SystemError) -> UInt64
    /// How many names the open file has: 0 once its name was deleted, or renamed over.
    func linkCount(_ fd: Int32) throws(SystemError) -> UInt64
    func rename(_ from: String, _ to: String) throws(SystemError)
    func unlink(_ path: String) throws(SystemError)
    func makeDirectory(_ path: String) throws(SystemError)
    /// Opens the directory, fsyncs it, closes it: makes creates, renames and deletions in it durable.
    func syncDirectory(_ path: String) throws(SystemError)
    /// nil when nothing exists at `path`.
    func kind(_ path: String) -> FileKind?
    func listDirectory(_ path: String) throws(SystemError) -> [String]
    /// Tries to take the exclusive OFD lock on one byte; false when another holder has it.
    func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool
    func unlock(_ fd: Int32, byte: Int64)
    /// true when another open file description holds the lock on `byte`.
    func isLocked(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool
    func mapShared(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeMutableRawPointer
    /// Maps `length` bytes of an immutable file read-only (snapshot data files).
    func mapReadOnly(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeRawPointer
    func unmap(_ address: UnsafeMutableRawPointer, length: Int)
    /// Starts writing `count` bytes at `offset` back to the disk without waiting (a hint: it
    /// makes nothing durable, it only leaves less for a later sync to write).
    func startWriteback(_ fd: Int32, from offset: UInt64, count: UInt64)
    /// Whether `relaxed` appends may be copied into a shared writable mapping of the log
    /// (`LogMapping`, with `mapShared`, `allocate` and `releaseMapped`) instead of written with
    /// `write`. Only the real layer says yes: what the test layers count, fail or keep for a
    /// simulated power cut are `write` calls, not stores into memory.
    var mapsAppends: Bool { get }
    /// Extends the file to at least `offset + count` bytes with its blocks allocated
    /// (fallocate): a full disk fails here, not when the mapped pages are written. EOPNOTSUPP
    /// where the file system cannot.
    func allocate(_ fd: Int32, from offset: UInt64, count: UInt64) throws(SystemError)
    /// Unmaps this process's pages of `length` bytes at `address` of a shared file mapping, which
    /// stays usable: the pages stay in the page cache (dirty ones are written back as usual),
    /// and count no longer in this process's resident memory.
    func releaseMapped(_ address: UnsafeMutableRawPointer, length: Int)
}

extension FileLayer {
    /// Simulated layers need not write anything back early.
    public func startWriteback(_ fd: Int32, from offset: UInt64, count: UInt64) {}
    /// Simulated layers see every append as a `write`.
    public var mapsAppends: Bool { false }
    public func allocate(_ fd: Int32, from offset: UInt64, count: UInt64) throws(SystemError) {
        throw SystemError(operation: "fallocate", errno: EOPNOTSUPP)
    }
    public func releaseMapped(_ address: UnsafeMutableRawPointer, length: Int) {}
}

extension FileLayer {
    /// Layers that wrap the real one need not intercept read-only mappings: nothing is written.
    public func mapReadOnly(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeRawPointer {
        try PosixFileLayer().mapReadOnly(fd, length: length)
    }
}

extension FileLayer {
    /// Writes all of `bytes` at `offset`, looping over short writes. A write that makes no
    /// progress is reported as ENOSPC, as the kernel does for a full disk.
    func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String)
        throws(SystemError)
    {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let n: Int
            do { n = try write(fd, from: rest, at: offset + UInt64(done)) } catch {
                throw SystemError(operation: error.operation, path: path, errno: error.errno)
            }
            if n <= 0 { throw SystemError(operation: "write", path: path, errno: ENOSPC) }
            done += n
        }
    }

    func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws(SystemError) {
        var failure: SystemError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try writeAll(fd, raw, at: offset, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads up to `count` bytes at `offset`, looping over short reads; fewer only at end of file.
    func readUpTo(_ fd: Int32, count: Int, at offset: UInt64, path: String) throws(SystemError) -> [UInt8] {
        var failure: SystemError?
        // Not zero-filled first: the read writes every byte it returns.
        let result = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(SystemError) {
                initialized = try fill(fd, UnsafeMutableRawBufferPointer(buffer), at: offset, path: path)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return result
    }

    /// Reads into all of `buffer` from `offset`, looping over short reads; returns the bytes read,
    /// fewer than the buffer's size only at end of file.
    func fill(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String)
        throws(SystemError) -> Int
    {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let n: Int
            do throws(SystemError) { n = try read(fd, into: rest, at: offset + UInt64(done)) } catch {
                throw SystemError(operation: error.operation, path: path, errno: error.errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads the whole file at `path`.
    func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try open(path, .readOnly)
        defer { close(fd) }
        let length = try size(fd)
        return try readUpTo(fd, count: Int(length), at: 0, path: path)
    }
}

/// A file layer that passes every call to `base`. Test layers conform to it and implement only
/// the calls they intercept (counting, failing, slowing, recording for power-loss simulation).
@_spi(Testing) public protocol ForwardingFileLayer: FileLayer {
    var base: any FileLayer { get }
}

extension ForwardingFileLayer {
    public func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 { try base.open(path, mode) }
    public func close(_ fd: Int32) { base.close(fd) }
    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64)
        throws(SystemError) -> Int
    { try base.read(fd, into: buffer, at: offset) }
    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError)
        -> Int
    { try base.write(fd, from: buffer, at: offset) }
    public func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) { try base.sync(fd, dataOnly: dataOnly) }
    public func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) { try base.truncate(fd, to: size) }
    public func size(_ fd: Int32) throws(SystemError) -> UInt64 { try base.size(fd) }
    public func linkCount(_ fd: Int32) throws(SystemError) -> UInt64 { try base.linkCount(fd) }
    public func rename(_ from: String, _ to: String) throws(SystemError) { try base.rename(from, to) }
    public func unlink(_ path: String) throws(SystemError) { try base.unlink(path) }
    public func makeDirectory(_ path: String) throws(SystemError) { try base.makeDirectory(path) }
    public func syncDirectory(_ path: String) throws(SystemError) { try base.syncDirectory(path) }
    public func kind(_ path: String) -> FileKind? { base.kind(path) }
    public func listDirectory(_ path: String) throws(SystemError) -> [String] { try base.listDirectory(path) }
    public func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try base.tryLock(fd, byte: byte) }
    public func unlock(_ fd: Int32, byte: Int64) { base.unlock(fd, byte: byte) }
    public func isLocked(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try base.isLocked(fd, byte: byte) }
    public func mapShared(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        try base.mapShared(fd, length: length)
    }
    public func mapReadOnly(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeRawPointer {
        try base.mapReadOnly(fd, length: length)
    }
    public func unmap(_ address: UnsafeMutableRawPointer, length: Int) { base.unmap(address, length: length) }
    public func startWriteback(_ fd: Int32, from offset: UInt64, count: UInt64) {
        base.startWriteback(fd, from: offset, count: count)
    }
    // Not `mapsAppends`: a layer that forwards it to the real one lets appends bypass it.
    public func allocate(_ fd: Int32, from offset: UInt64, count: UInt64) throws(SystemError) {
        try base.allocate(fd, from: offset, count: count)
    }
    public func releaseMapped(_ address: UnsafeMutableRawPointer, length: Int) {
        base.releaseMapped(address, length: length)
    }
}

/// Retries `body` while it fails with EINTR; returns its result or throws errno as `SystemError`.
@inline(__always)
private func retrying<T: BinaryInteger>(_ operation: String, _ path: String? = nil, _ body: () -> T)
    throws(SystemError) -> T
{
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(operation: operation, path: path, errno: code)
    }
}

/// The real file layer: POSIX calls, nothing else.
@_spi(Testing) public struct PosixFileLayer: FileLayer {
    public init() {}

    public func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .createReadWrite: flags = O_RDWR | O_CREAT
        case .createExclusive: flags = O_RDWR | O_CREAT | O_EXCL
        }
        return try retrying("open", path) { Glibc.open(path, flags | O_CLOEXEC, 0o644) }
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }  // never retried: the fd is gone either way

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64)
        throws(SystemError) -> Int
    {
        try retrying("pread") { pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError)
        -> Int
    {
        try retrying("pwrite") { pwrite(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    public func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        // Never retried on failure: after a failed fsync Linux may have dropped the dirty pages,
        // so the caller must treat the handle as failed (fail-stop).
        let result = dataOnly ? fdatasync(fd) : fsync(fd)
        if result != 0 { throw SystemError(operation: dataOnly ? "fdatasync" : "fsync", errno: errno) }
    }

    public func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) {
        _ = try retrying("ftruncate") { ftruncate(fd, off_t(size)) }
    }

    public func size(_ fd: Int32) throws(SystemError) -> UInt64 {
        var info = stat()
        _ = try retrying("fstat") { fstat(fd, &info) }
        return UInt64(info.st_size)
    }

    public func linkCount(_ fd: Int32) throws(SystemError) -> UInt64 {
        var info = stat()
        _ = try retrying("fstat") { fstat(fd, &info) }
        return UInt64(info.st_nlink)
    }

    public func rename(_ from: String, _ to: String) throws(SystemError) {
        _ = try retrying("rename", to) { Glibc.rename(from, to) }
    }

    public func unlink(_ path: String) throws(SystemError) {
        _ = try retrying("unlink", path) { Glibc.unlink(path) }
    }

    public func makeDirectory(_ path: String) throws(SystemError) {
        _ = try retrying("mkdir", path) { mkdir(path, 0o755) }
    }

    public func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try retrying("open", path) { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = Glibc.close(fd) }
        if fsync(fd) != 0 { throw SystemError(operation: "fsync", path: path, errno: errno) }
    }

    public func kind(_ path: String) -> FileKind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regular
        default: return .other
        }
    }

    public func listDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool {
        if lb_ofd_lock(fd, byte, 1) == 0 { return true }
        let code = errno
        if code == EAGAIN || code == EACCES { return false }
        throw SystemError(operation: "fcntl(F_OFD_SETLK)", errno: code)
    }

    public func unlock(_ fd: Int32, byte: Int64) { _ = lb_ofd_unlock(fd, byte) }

    public func isLocked(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool {
        let result = lb_ofd_is_locked(fd, byte)
        if result < 0 { throw SystemError(operation: "fcntl(F_OFD_GETLK)", errno: errno) }
        return result == 1
    }

    public func mapShared(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { throw SystemError(operation: "mmap", errno: errno) }
        return address
    }

    public func mapReadOnly(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeRawPointer {
        let address = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { throw SystemError(operation: "mmap", errno: errno) }
        return UnsafeRawPointer(address)
    }

    public func unmap(_ address: UnsafeMutableRawPointer, length: Int) { _ = munmap(address, length) }

    public func startWriteback(_ fd: Int32, from offset: UInt64, count: UInt64) {
        _ = lb_start_writeback(fd, Int64(offset), Int64(count))  // a hint: a failure changes nothing
    }

    public var mapsAppends: Bool { true }

    public func allocate(_ fd: Int32, from offset: UInt64, count: UInt64) throws(SystemError) {
        _ = try retrying("fallocate") { lb_allocate(fd, Int64(offset), Int64(count)) }
    }

    public func releaseMapped(_ address: UnsafeMutableRawPointer, length: Int) { lb_release_mapped(address, length) }
}

/// Process-level facts and clocks; not file operations, so not part of the fault seam.
enum System {
    static var processID: Int32 { getpid() }

    /// true when a process with this pid exists (kill(pid, 0) succeeds or fails with EPERM).
    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Nanoseconds on the monotonic clock.
    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Nanoseconds since the Unix epoch.
    static func wallClockNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Starts a thread that runs `body` (which it keeps alive until it returns); nil when the
    /// system cannot create one.
    static func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body))
        let created = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box.toOpaque())
        guard created == 0 else {
            box.release()
            return nil
        }
        return thread
    }

    static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// The program's short name, for lock holder diagnostics.
    static var programName: String {
        let path = CommandLine.arguments.first ?? "?"
        return String(path.split(separator: "/").last ?? Substring(path))
    }
}
