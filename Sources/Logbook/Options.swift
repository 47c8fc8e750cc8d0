/// When a commit returns, and what survives a crash. See Docs/Durability.md.
///
/// | mode | commit returns after | kill -9 | power loss |
/// | --- | --- | --- | --- |
/// | `relaxed` | the log record is in the page cache (copied into a shared mapping of the log, or written with write(2)), never a log sync | all commits survive | a prefix survives |
/// | `normal` | fdatasync of the log | all | all acknowledged |
/// | `paranoid` | fsync of the log; every new file's directory synced; everything re-verified | all | all acknowledged |
public enum Durability: String, Sendable, CaseIterable {
    case relaxed, normal, paranoid
}

/// How a store is opened.
public struct StoreOptions: Sendable {
    /// Durability of every commit through this handle. Default `.normal`.
    public var durability: Durability
    /// Seconds to wait for another process's writer lock (and, for `compact`, `backup` and
    /// `repair`, its compaction lock) before failing with `lockTimeout`. Default 10.
    public var lockTimeout: Double
    /// Create the directory and its files when missing. Default true.
    public var createIfMissing: Bool
    /// How many times `write { }` re-runs its closure after a conflict before throwing it. Default 64.
    public var maxConflictRetries: Int
    /// The program named in lock holder diagnostics. Default: this process's executable name.
    public var programName: String
    /// Compact automatically, after a commit, once the log holds at least this many bytes and
    /// more than the snapshot's share set by `autoCompactSnapshotDivisor`. nil turns automatic
    /// compaction off. Default 16 MiB.
    public var autoCompactLogBytes: UInt64?
    /// Automatic compaction also waits for the log to hold more than the snapshot's bytes divided
    /// by this; 0: the snapshot's size does not count. Default 1, more than the snapshot: each
    /// compaction then rewrites at most about as much as the log received since the last one. A
    /// larger divisor keeps the log shorter on a large store, for handles that open it often
    /// (every open replays the log), at the price of rewriting the snapshot more often: the CLI
    /// uses 16 (Docs/CLI.md).
    public var autoCompactSnapshotDivisor: UInt64
    /// Run automatic compactions on a thread of the handle's own, so that the commit that finds
    /// one due returns at once and later commits go on beside the merge (only its short seal
    /// and install take the writer lock); `close()` waits for the one in flight or asked for.
    /// Default true. False: that commit runs the compaction before it returns (fill_nosync's
    /// longest put ~2 ms → ~50-65 ms); memory then peaks ~5 MiB lower, since no commits add to
    /// the memtable while the frozen one is merged. See Docs/Benchmarks.md.
    /// `compact()` always runs on the caller's thread.
    public var compactInBackground: Bool
    /// Bytes of values read from the snapshot that each handle keeps in its LRU value cache
    /// (each entry costs its key and value plus 64 bytes). 0 turns the cache off. Default 8 MiB.
    /// The cache serves every snapshot read in `paranoid` mode, otherwise values of at least
    /// 16 KiB; shorter values are copied straight from the mapped snapshot, which costs less.
    /// Values written since the snapshot are in memory already and are not cached.
    public var cacheBytes: Int
    /// Seconds a cached value may be served before it is read from the snapshot again; nil: no
    /// expiry (the default: snapshot files never change, so a cached value is never stale).
    public var cacheTimeToLive: Double?
    /// In `relaxed` mode, copy the log records into a shared writable mapping of the log
    /// instead of making a write(2) of each batch: the same page cache, so the same promise (a
    /// commit survives the death of its process, a power cut leaves a prefix), at a fraction
    /// of the cost. Default true. The price: should the file system fail under it (an I/O error
    /// reading a page back, a file system gone read-only), the process dies of SIGBUS instead
    /// of getting an error (nothing acknowledged is lost either way). False: a write(2) per
    /// batch, which fails the commit instead (the handle then refuses writes). Where the file
    /// system cannot allocate ahead or map, writes are used anyway. See Docs/Durability.md.
    public var mapsRelaxedAppends: Bool

    /// The file layer every system call goes through; tests replace it to count or inject faults.
    @_spi(Testing) public var fileLayer: any FileLayer
    /// Seconds a writer in `normal` or `paranoid` mode waits for the sync turn before it syncs
    /// without it (see `ProcessLock.takeSyncTurn`). Default 0.05; tests raise it to tell a turn
    /// taken from one given up on.
    @_spi(Testing) public var syncTurnPatience: Double = 0.05

    public init(
        durability: Durability = .normal, lockTimeout: Double = 10, createIfMissing: Bool = true,
        maxConflictRetries: Int = 64, programName: String? = nil, autoCompactLogBytes: UInt64? = 16 << 20,
        autoCompactSnapshotDivisor: UInt64 = 1, compactInBackground: Bool = true, cacheBytes: Int = 8 << 20,
        cacheTimeToLive: Double? = nil, mapsRelaxedAppends: Bool = true
    ) {
        self.mapsRelaxedAppends = mapsRelaxedAppends
        self.compactInBackground = compactInBackground
        self.cacheBytes = cacheBytes
        self.cacheTimeToLive = cacheTimeToLive
        self.autoCompactLogBytes = autoCompactLogBytes
        self.autoCompactSnapshotDivisor = autoCompactSnapshotDivisor
        self.durability = durability
        self.lockTimeout = lockTimeout
        self.createIfMissing = createIfMissing
        self.maxConflictRetries = maxConflictRetries
        self.programName = programName ?? System.programName
        self.fileLayer = PosixFileLayer()
    }
}

/// Size limits, enforced on every write (`invalidArgument` beyond them).
public enum Limits {
    /// Largest key: 4 KiB. Keys must not be empty.
    public static let maxKeySize = 4096
    /// Largest value: 16 MiB. Empty values are allowed.
    public static let maxValueSize = 16 << 20
    /// Largest transaction (its log record's payload): 64 MiB.
    public static let maxTransactionSize = 64 << 20
}
