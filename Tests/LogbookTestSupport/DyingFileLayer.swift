@_spi(Testing) import Logbook
import Synchronization

/// A file layer that "dies" after a given number of operations that change the disk: that
/// operation and every later one fail with EIO without touching anything, as if the process had
/// been killed right there (the kernel keeps what was already written).
@_spi(Testing) public final class DyingFileLayer: ForwardingFileLayer, Sendable {
    let real: any FileLayer
    public var base: any FileLayer { real }
    private let budget: Atomic<Int>

    /// `base`: the layer the living process uses (the real one, or a power-loss simulation).
    public init(changesBeforeDeath: Int, base: any FileLayer = PosixFileLayer()) {
        budget = Atomic(changesBeforeDeath)
        real = base
    }

    /// Whether the budget of changes is spent.
    public var isDead: Bool { budget.load(ordering: .relaxed) <= 0 }

    private func change(_ operation: String) throws(SystemError) {
        if budget.subtract(1, ordering: .relaxed).newValue < 0 {
            throw SystemError(operation: operation, errno: SystemError.eio)
        }
    }

    public func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 {
        if mode == .createReadWrite || mode == .createExclusive { try change("open") }
        return try real.open(path, mode)
    }
    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        try change("pwrite")
        return try real.write(fd, from: buffer, at: offset)
    }
    public func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        try change("fsync")
        try real.sync(fd, dataOnly: dataOnly)
    }
    public func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) {
        try change("ftruncate")
        try real.truncate(fd, to: size)
    }
    public func rename(_ from: String, _ to: String) throws(SystemError) {
        try change("rename")
        try real.rename(from, to)
    }
    public func unlink(_ path: String) throws(SystemError) {
        try change("unlink")
        try real.unlink(path)
    }
    public func makeDirectory(_ path: String) throws(SystemError) {
        try change("mkdir")
        try real.makeDirectory(path)
    }
    public func syncDirectory(_ path: String) throws(SystemError) {
        try change("fsync(dir)")
        try real.syncDirectory(path)
    }
}
