import CLogbookShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a `relaxed` writer puts its appends: a shared, writable mapping of the active log
/// segment, into which it copies its records instead of making a write(2) of each. The copy lands
/// in the page cache a write(2) fills, so a commit survives the death of its process just the
/// same; it costs a fraction of the system call (Docs/Durability.md, "How `relaxed` writes").
///
/// - Every page written lies inside the file: the file is extended ahead of the appends with its
///   blocks allocated (`FileLayer.allocate`, 256 KiB at a time), so a full disk fails the
///   commit that needs the space, and never a store into the mapping. A page past the file's end
///   would kill the process (SIGBUS), or take bytes written after the end within the file's last
///   page away without a word.
/// - Others may cut the file shorter (a torn tail's cut, a failed append's or sync's, a seal's),
///   always under the writer lock: they bump `ProcessLock.logCuts` first, and this writer, under
///   the same lock, reads the file's size again before it relies on it.
/// - The copy goes front to back (`lb_copy_forward`): a process killed in the middle of it leaves
///   a prefix of its records, a torn tail like the one a cut-short write leaves.
/// - Pages behind the last whole mebibyte are unmapped from this process as the log grows
///   (`release`): written back by the kernel, they would otherwise count in its resident memory.
///
/// Only the real file layer maps (`FileLayer.mapsAppends`); where it cannot (a file system
/// without `fallocate` or shared mappings), or past the first `window` bytes of a segment, the
/// records are written with write(2). The mapping follows the active segment: a new one is mapped
/// at its first append, and the old one (with its file) let go then, or when the handle closes.
///
/// Used only by the holder of the handle's writer lock (it lives in `Leader`).
final class LogMapping: @unchecked Sendable {
    /// How much of a segment is mapped (address space only, until written).
    static let window = 1 << 30
    /// How far ahead of the appends the file is extended.
    static let allocationUnit: UInt64 = 256 << 10

    /// The segment mapped (kept open while mapped), and where.
    private var file: OpenFile?
    private var base: UnsafeMutableRawPointer?
    /// Bytes the file holds at least, as of `cuts`.
    private var size: UInt64 = 0
    private var cuts: UInt64 = 0
    /// Pages before this offset are unmapped from this process (see `release`).
    private var released: UInt64 = 0
    /// The file system cannot: every append is a write.
    private var unavailable = false

    /// Copies `bytes` to `offset` of `log`'s segment; false when they must be written with a
    /// write(2) instead (nothing was written then). `cuts` is `ProcessLock.logCuts`, read under
    /// the writer lock. Throws when the file cannot be extended (a full disk: ENOSPC).
    func write(
        _ bytes: UnsafeRawBufferPointer, at offset: UInt64, of log: ActiveLog, cuts: UInt64, files: any FileLayer
    ) throws(SystemError) -> Bool {
        let end = offset + UInt64(bytes.count)
        guard !unavailable, end <= UInt64(Self.window), let base = try mapped(log, cuts: cuts, files: files) else {
            return false
        }
        if end > size {
            let target = min((end / Self.allocationUnit + 1) * Self.allocationUnit, UInt64(Self.window))
            do throws(SystemError) { try files.allocate(log.fd, from: size, count: target - size) } catch {
                guard error.errno == EOPNOTSUPP else { throw error }
                close(files)
                unavailable = true
                return false
            }
            size = target
        }
        lb_copy_forward(base + Int(offset), bytes.baseAddress!, bytes.count)
        return true
    }

    /// The mapping of `log`'s segment, mapped now if it is not, with `size` up to date; nil when
    /// the layer or the file system does not map.
    private func mapped(_ log: ActiveLog, cuts: UInt64, files: any FileLayer) throws(SystemError)
        -> UnsafeMutableRawPointer?
    {
        if file === log.file, let base {
            if cuts != self.cuts {
                size = try files.size(log.fd)
                self.cuts = cuts
            }
            return base
        }
        close(files)
        guard files.mapsAppends, let address = try? files.mapShared(log.fd, length: Self.window) else {
            unavailable = true
            return nil
        }
        (file, base, released) = (log.file, address, 0)
        do throws(SystemError) { size = try files.size(log.fd) } catch {
            close(files)
            throw error
        }
        self.cuts = cuts
        return address
    }

    /// Unmaps this process's pages of the mapped segment before `offset` (a multiple of the page
    /// size): whole pages of records, which the kernel writes back from the page cache.
    func release(before offset: UInt64, of log: ActiveLog, files: any FileLayer) {
        guard file === log.file, let base, offset > released, offset <= UInt64(Self.window) else { return }
        files.releaseMapped(base + Int(released), length: Int(offset - released))
        released = offset
    }

    /// Unmaps the segment (what was copied stays in the page cache) and lets its file go.
    func close(_ files: any FileLayer) {
        if let base { files.unmap(base, length: Self.window) }
        (file, base, size, released) = (nil, nil, 0, 0)
    }
}
