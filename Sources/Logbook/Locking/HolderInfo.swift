/// Who holds a lock, for diagnostics: read from the LOCK file's shared page.
public struct HolderInfo: Sendable, Equatable {
    public var pid: Int32
    public var program: String
    /// When the holder took the lock, in nanoseconds since the Unix epoch.
    public var sinceNanoseconds: UInt64
    /// Whether a process with `pid` exists now.
    public var isAlive: Bool

    /// Seconds the lock has been held.
    public var heldSeconds: Double {
        let now = System.wallClockNanoseconds()
        return now > sinceNanoseconds ? Double(now - sinceNanoseconds) / 1e9 : 0
    }

    /// "pid 4242 (logbook) for 12.3 s" plus "(no longer running)" for a dead pid.
    public var summary: String {
        let held = (heldSeconds * 10).rounded() / 10
        return "pid \(pid) (\(program)) for \(held) s" + (isAlive ? "" : ", and that pid is no longer running")
    }
}

extension HolderInfo {
    /// The holder recorded on the LOCK file's shared page: the pid word (offset 40), the since
    /// word (48) and the NUL-padded program name (64..<128). nil when no holder is recorded.
    /// Never traps, whatever the bytes: the page may hold anything after a crash.
    @_spi(Testing) public static func decode(
        pidWord: UInt64, since: UInt64, name: UnsafeRawBufferPointer, isAlive: (Int32) -> Bool
    ) -> HolderInfo? {
        let pid = Int32(truncatingIfNeeded: pidWord)
        guard pid > 0 else { return nil }
        let program = String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
        return HolderInfo(
            pid: pid, program: program.isEmpty ? "?" : program, sinceNanoseconds: since, isAlive: isAlive(pid))
    }
}
