// Shared helpers of the engine tests: temporary store directories, raw file access for
// damaging logs on purpose, a seeded random generator, and byte helpers.

import Glibc
@_spi(Testing) import Logbook
import Testing

/// A fresh directory under /tmp, removed (with its files) by `remove()`.
struct TemporaryDirectory {
    let path: String

    /// `inMemory`: under /dev/shm (tmpfs) when there is one, where fsync costs nothing: for
    /// tests whose durability is simulated (the power-loss layer) and that sync a lot.
    init(_ label: String = "test", inMemory: Bool = false) {
        let base = inMemory && Disk.exists("/dev/shm") ? "/dev/shm" : "/tmp"
        var template = Array("\(base)/logbook-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    /// A store directory inside this one (not yet created).
    var store: String { path + "/store" }

    /// The first log segment of `store`.
    var log: String { store + "/log-1.wal" }

    /// Removes the directory tree (two levels: the store directory and its files).
    func remove() { Disk.removeTree(path) }
}

/// Runs `body` with a temporary directory that is removed afterwards.
func withTemporaryDirectory<T>(
    _ label: String = "test", inMemory: Bool = false, _ body: (TemporaryDirectory) throws -> T
) rethrows -> T {
    let directory = TemporaryDirectory(label, inMemory: inMemory)
    defer { directory.remove() }
    return try body(directory)
}

/// Direct file access that bypasses the engine, for inspecting and damaging store files.
enum Disk {
    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        precondition(fd >= 0, "open \(path): errno \(errno)")
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            precondition(n >= 0, "read \(path): errno \(errno)")
            if n == 0 { return result }
            result.append(contentsOf: buffer[0..<n])
        }
    }

    /// The file's bytes, or nil when it cannot be opened.
    static func readIfPresent(_ path: String) -> [UInt8]? { exists(path) ? read(path) : nil }

    /// Replaces the file's contents with `bytes` (creating it when missing).
    static func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "open \(path): errno \(errno)")
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            }
            precondition(n > 0, "write \(path): errno \(errno)")
            done += n
        }
    }

    static func truncate(_ path: String, to size: Int) {
        precondition(Glibc.truncate(path, off_t(size)) == 0, "truncate \(path): errno \(errno)")
    }

    /// The file's bytes without the zeros at its end: a log's records without the space a
    /// `normal` or `paranoid` writer allocated ahead (`LogFormat.preallocation`). The records
    /// the tests write end in a byte that is not zero.
    static func content(_ path: String) -> [UInt8] {
        var bytes = read(path)
        while bytes.last == 0 { bytes.removeLast() }
        return bytes
    }

    /// Where `content` ends: where the log's records end.
    static func contentEnd(_ path: String) -> Int { content(path).count }

    static func size(_ path: String) -> Int {
        var info = stat()
        precondition(stat(path, &info) == 0, "stat \(path): errno \(errno)")
        return Int(info.st_size)
    }

    static func makeDirectory(_ path: String) {
        precondition(mkdir(path, 0o755) == 0, "mkdir \(path): errno \(errno)")
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// XORs the byte at `offset` with `mask`.
    static func flip(_ path: String, at offset: Int, mask: UInt8 = 0xFF) {
        var bytes = read(path)
        bytes[offset] ^= mask
        write(path, bytes)
    }

    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            if let names = try? PosixFileLayer().listDirectory(path) {
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// SplitMix64: a small, fast, seedable generator, so every random test is reproducible.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476C_E5B9_E1B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

/// UTF-8 bytes of a string.
func b(_ string: String) -> [UInt8] { Array(string.utf8) }

/// Byte strings ordered as the store orders keys: unsigned bytes, then length.
func keyLess(_ a: [UInt8], _ c: [UInt8]) -> Bool { a.lexicographicallyPrecedes(c) }

/// Options with relaxed durability, for tests that are not about durability.
func relaxed(_ configure: (inout StoreOptions) -> Void = { _ in }) -> StoreOptions {
    var options = StoreOptions(durability: .relaxed)
    configure(&options)
    return options
}

/// Options in `durability` without automatic compaction: tests that compact when they choose
/// and read every layer in each mode.
func compactingByHand(_ durability: Durability) -> StoreOptions {
    var options = StoreOptions(durability: durability)
    options.autoCompactLogBytes = nil
    return options
}

/// `relaxed()` appending with a write(2) per batch (`mapsRelaxedAppends` off): the log file
/// then ends at its last record, as tests that cut the file or add to it at its end expect (a
/// writer that maps the log allocates zeros ahead of its records: the file goes on past them).
func relaxedWrites() -> StoreOptions { relaxed { $0.mapsRelaxedAppends = false } }
