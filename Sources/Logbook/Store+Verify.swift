// verify() and stats().

/// What `Store.verify()` checked.
public struct VerifyReport: Sendable, Equatable {
    /// Files whose every checksum was checked, in the order checked.
    public var files: [String]
    /// Log records checked.
    public var records: Int
    /// Snapshot blocks checked, and the keys in them.
    public var blocks: Int
    public var snapshotKeys: UInt64
    /// Bytes covered by checksums.
    public var bytes: UInt64
    /// Offset and length of a torn tail at the end of the active log left by a crash (ignored
    /// by readers, cut by the next writer), if there is one. Not damage.
    public var tornTail: (offset: UInt64, length: UInt64)?

    public static func == (a: VerifyReport, b: VerifyReport) -> Bool {
        a.files == b.files && a.records == b.records && a.blocks == b.blocks && a.snapshotKeys == b.snapshotKeys
            && a.bytes == b.bytes && a.tornTail?.offset == b.tornTail?.offset
            && a.tornTail?.length == b.tornTail?.length
    }
}

/// The state of a store's locks, from `Store.lockStatus()`.
public struct LockStatus: Sendable, Equatable {
    /// The LOCK file.
    public var path: String
    public var writerHeld: Bool
    /// The writer lock's holder as recorded when it took the lock (nil when free or not recorded).
    public var writerHolder: HolderInfo?
    public var compactionHeld: Bool
    /// The compaction lock's holder as recorded when it took the lock (nil when free or not recorded).
    public var compactionHolder: HolderInfo?
    /// Whether another handle holds the sync turn: it is syncing the log (held for one sync at
    /// a time; a holder that keeps it, stopped mid-sync, makes other writers wait 50 ms a commit).
    public var syncTurnHeld: Bool
    /// The sync turn's holder as recorded when it took the turn (nil when free or not recorded).
    public var syncTurnHolder: HolderInfo?
}

/// Figures about a store, from `Store.stats()`.
public struct StoreStats: Sendable, Equatable {
    public var path: String
    public var durability: Durability
    public var keys: Int
    /// Sum of live key and value sizes.
    public var liveBytes: Int
    /// Bytes of the log segments not yet compacted (up to the last applied record).
    public var logBytes: UInt64
    /// Bytes of the snapshot data file (0 before the first compaction).
    public var snapshotBytes: UInt64
    /// The MANIFEST generation and the snapshot it names (0: none yet).
    public var generation: UInt64
    public var snapshot: UInt64
    /// Sequence number of the last commit.
    public var lastSequence: UInt64
    /// Every commit up to this sequence number is in the snapshot (0 before the first compaction).
    public var lastCompactedSequence: UInt64
    /// Commits made through this handle.
    public var commits: UInt64
    /// Log syncs (fdatasync or fsync) made through this handle.
    public var syncs: UInt64
    /// Snapshot value cache: bytes held, hits, misses, evictions (see `StoreOptions.cacheBytes`
    /// for which reads consult it).
    public var cacheBytes: Int
    public var cacheHits: UInt64
    public var cacheMisses: UInt64
    public var cacheEvictions: UInt64
    /// The last compaction this handle ran, and the error of the last automatic one that failed.
    public var lastCompaction: CompactionReport?
    public var lastCompactionError: String?
}

extension Store {
    /// Reads every file of the store from disk (MANIFEST, snapshot index and every block, every
    /// log segment) and checks every checksum and structure.
    /// - Throws: `corrupted` naming the file and offset of the first damage; `io`; `closed`.
    public func verify() throws -> VerifyReport {
        try state.withLock { (s) throws(LogbookError) in try refresh(&s) }
        return try Self.verify(path: path, options: options)
    }

    /// Checks the store in directory `path` from its files alone, without opening it (no lock
    /// taken, no log replayed, nothing written): works on a store too damaged to open, and
    /// says how much of it is intact.
    /// - Throws: `corrupted` naming the file and offset of the first damage; `notFound`; `io`.
    public static func verify(path: String, options: StoreOptions = StoreOptions()) throws -> VerifyReport {
        let files = options.fileLayer
        switch files.kind(path) {
        case .directory: break
        case nil: throw LogbookError(.notFound, "no store at \(path)", path: path)
        case .regular, .other: throw LogbookError.invalid("store path \(path) exists and is not a directory")
        }
        var attempt = 0
        while true {
            let result: Result<VerifyReport, LogbookError>
            do throws(LogbookError) { result = .success(try verifyFiles(directory: path, files: files)) } catch {
                result = .failure(error)
            }
            switch result {
            case .success(let report):
                return report
            case .failure(let error):
                // ENOENT: a compaction replaced the files meanwhile; read the new MANIFEST.
                guard error.errno == SystemError.enoent && attempt < 8 else { throw error }
                attempt += 1
            }
        }
    }

    static func verifyFiles(directory path: String, files: any FileLayer) throws(LogbookError) -> VerifyReport {
        let manifest = try readManifest(directory: path, files: files)
        var report = VerifyReport(files: [], records: 0, blocks: 0, snapshotKeys: 0, bytes: 0, tornTail: nil)
        if manifest != .initial {
            report.files.append(path + "/" + Manifest.fileName)
            report.bytes += UInt64(Manifest.size)
        }
        if manifest == .initial {
            let firstLog = path + "/" + LogFormat.segmentName(1)
            if files.kind(firstLog) == nil {
                // Unless a first compaction installed a MANIFEST meanwhile (then opening the
                // segment below fails with ENOENT and `verify` reads the MANIFEST again).
                if files.kind(path + "/" + Manifest.fileName) == nil {
                    throw LogbookError(
                        .notFound, "no store at \(path) (the directory holds no Logbook files)", path: path)
                }
            } else if isUnfinishedFirstLog(directory: path, files: files) {
                // A creation cut short by a power cut: an empty store, rewritten by the next open.
                let size = (try? files.readFile(firstLog).count).map(UInt64.init) ?? 0
                report.files.append(firstLog)
                report.tornTail = (offset: 0, length: size)
                return report
            }
        }
        var sequence = manifest.snapshotSequence
        if manifest.snapshot > 0 {
            // The reader rejects a block holding an entry newer than the snapshot.
            let reader = try SnapshotReader(
                files: files, directory: path, number: manifest.snapshot, sequence: manifest.snapshotSequence,
                cacheBytes: 0)
            report.files += [reader.indexPath, reader.dataPath]
            for block in 0..<reader.blockCount {
                report.snapshotKeys += UInt64(try reader.readBlock(block).count)
            }
            report.blocks = reader.blockCount
            report.bytes += reader.index.dataSize
        }
        for number in manifest.firstLog...manifest.lastLog {
            let logPath = path + "/" + LogFormat.segmentName(number)
            let fd = try io(logPath) { () throws(SystemError) in try files.open(logPath, .readOnly) }
            defer { files.close(fd) }
            let size = try io(logPath) { () throws(SystemError) in try files.size(fd) }
            let header = try io(logPath) { () throws(SystemError) in
                try files.readUpTo(fd, count: LogFormat.segmentHeaderSize, at: 0, path: logPath)
            }
            guard LogFormat.parseSegmentHeader(header) == number else {
                throw LogbookError.corrupted("invalid log segment header", path: logPath, offset: 0)
            }
            report.files.append(logPath)
            var records = 0
            let parsed = try LogReader.read(
                files, fd: fd, path: logPath, from: UInt64(LogFormat.segmentHeaderSize), limit: size, after: sequence
            ) { _, _ in records += 1 }
            report.records += records
            sequence = parsed.lastSequence
            switch SegmentEnd(parsed, size: size, sealed: number != manifest.lastLog) {
            case .damaged(let offset, .corruptRecord, let reason):
                throw LogbookError(
                    .corrupted,
                    "\(reason) in \(logPath) at offset \(offset) (record \(records + 1) of the segment); "
                        + "\(records) records before it are intact; `logbook repair` keeps them",
                    path: logPath, offset: offset)
            case .damaged(let offset, _, let reason):
                throw LogbookError.corrupted(reason, path: logPath, offset: offset)
            case .tornTail(let offset):
                report.tornTail = (offset: offset, length: size - offset)
                report.bytes += offset
            case .clean(let end):
                report.bytes += end
            }
        }
        return report
    }

    /// Figures about the store as this handle sees it now.
    public func stats() throws -> StoreStats {
        try state.withLock { (s) throws(LogbookError) in
            try refresh(&s)
            let live = try s.view.countLive()
            let cache = s.view.snapshot?.cacheFigures ?? (bytes: 0, hits: 0, misses: 0, evictions: 0)
            return StoreStats(
                path: path, durability: options.durability, keys: live.keys, liveBytes: live.bytes,
                logBytes: s.sealedLogBytes + s.appliedEnd, snapshotBytes: s.view.snapshot?.index.dataSize ?? 0,
                generation: s.manifest.generation, snapshot: s.manifest.snapshot, lastSequence: s.lastSequence,
                lastCompactedSequence: s.manifest.snapshotSequence,
                commits: s.commits, syncs: s.syncs, cacheBytes: cache.bytes, cacheHits: cache.hits,
                cacheMisses: cache.misses, cacheEvictions: cache.evictions, lastCompaction: s.lastCompaction,
                lastCompactionError: s.lastCompactionError?.message)
        }
    }

    /// Whether the writer lock, the compaction lock and the sync turn are held by another process
    /// (or handle) now, and who holds them, as recorded on the shared page.
    public func lockStatus() throws -> LockStatus {
        try state.withLock { (s) throws(LogbookError) -> LockStatus in
            if case .closed = s.lifecycle { throw LogbookError(.closed, "the store at \(path) is closed") }
            let writerHeld = try processLock.isHeldElsewhere()
            let compactionHeld = try processLock.isCompactionHeldElsewhere()
            let syncTurnHeld = try processLock.isSyncTurnHeldElsewhere()
            return LockStatus(
                path: processLock.path, writerHeld: writerHeld, writerHolder: writerHeld ? processLock.holder() : nil,
                compactionHeld: compactionHeld,
                compactionHolder: compactionHeld ? processLock.compactionHolderInfo() : nil,
                syncTurnHeld: syncTurnHeld, syncTurnHolder: syncTurnHeld ? processLock.syncTurnHolderInfo() : nil)
        }
    }

    /// Who holds the writer lock now, if another process (or handle) holds it.
    public func writerLockHolder() throws -> HolderInfo? {
        // Under the state lock, so `close()` cannot unmap the page or close the fd meanwhile.
        try state.withLock { (s) throws(LogbookError) -> HolderInfo? in
            if case .closed = s.lifecycle { throw LogbookError(.closed, "the store at \(path) is closed") }
            guard try processLock.isHeldElsewhere() else { return nil }
            return processLock.holder()
        }
    }

    /// Runs `body` while holding the cross-process writer lock; for tests and diagnostics only.
    @_spi(Testing) public func withWriterLockHeld<T>(_ body: () throws -> T) throws -> T {
        try writer.withLock { _ in
            // `close()` takes the writer mutex too, so the handle stays open while it is held.
            try state.withLock { (s) throws(LogbookError) in
                if case .closed = s.lifecycle { throw LogbookError(.closed, "the store at \(path) is closed") }
            }
            try processLock.acquire(timeout: options.lockTimeout, program: options.programName)
            defer { processLock.release() }
            return try body()
        }
    }
}
