import Glibc
@_spi(Testing) import Logbook

/// A file layer that serves one read-only file from memory, for fuzzing the windowed log reader
/// without touching the disk: the bytes sit at `base` of a file of size `base + bytes.count`
/// (below `base` it reads zeros). Every other call fails with EIO.
@_spi(Testing) public struct MemoryFileLayer: FileLayer {
    public let bytes: [UInt8]
    public let base: UInt64

    public init(_ bytes: [UInt8], base: UInt64) {
        self.bytes = bytes
        self.base = base
    }

    static func unsupported(_ operation: String) -> SystemError { SystemError(operation: operation, errno: EIO) }

    public func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 { 3 }
    public func close(_ fd: Int32) {}

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError)
        -> Int
    {
        let end = base + UInt64(bytes.count)
        guard offset < end else { return 0 }
        let n = Int(min(UInt64(buffer.count), end - offset))
        for i in 0..<n {
            let at = offset + UInt64(i)
            buffer[i] = at < base ? 0 : bytes[Int(at - base)]
        }
        return n
    }

    public func size(_ fd: Int32) throws(SystemError) -> UInt64 { base + UInt64(bytes.count) }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        throw Self.unsupported("write")
    }
    public func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) { throw Self.unsupported("sync") }
    public func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) { throw Self.unsupported("truncate") }
    public func rename(_ from: String, _ to: String) throws(SystemError) { throw Self.unsupported("rename") }
    public func linkCount(_ fd: Int32) throws(SystemError) -> UInt64 { throw Self.unsupported("fstat") }
    public func unlink(_ path: String) throws(SystemError) { throw Self.unsupported("unlink") }
    public func makeDirectory(_ path: String) throws(SystemError) { throw Self.unsupported("mkdir") }
    public func syncDirectory(_ path: String) throws(SystemError) { throw Self.unsupported("fsync") }
    public func kind(_ path: String) -> FileKind? { nil }
    public func listDirectory(_ path: String) throws(SystemError) -> [String] { throw Self.unsupported("opendir") }
    public func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { throw Self.unsupported("fcntl") }
    public func unlock(_ fd: Int32, byte: Int64) {}
    public func isLocked(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { throw Self.unsupported("fcntl") }
    public func mapShared(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        throw Self.unsupported("mmap")
    }
    public func unmap(_ address: UnsafeMutableRawPointer, length: Int) {}
}
