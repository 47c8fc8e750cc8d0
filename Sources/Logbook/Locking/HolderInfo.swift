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
