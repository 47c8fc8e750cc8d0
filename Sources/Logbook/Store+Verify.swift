// verify() and stats().

/// What `Store.verify()` checked.
public struct VerifyReport: Sendable, Equatable {
    /// Files whose every checksum was checked.
    public var files: [String]
    /// Log records checked.
    public var records: Int
    /// Bytes covered by checksums.
    public var bytes: UInt64
    /// Offset and length of a torn tail left by a crash (ignored by readers, cut by the next
    /// writer), if there is one. Not damage.
    public var tornTail: (offset: UInt64, length: UInt64)?

    public static func == (a: VerifyReport, b: VerifyReport) -> Bool {
        a.files == b.files && a.records == b.records && a.bytes == b.bytes
            && a.tornTail?.offset == b.tornTail?.offset && a.tornTail?.length == b.tornTail?.length
    }
}

/// Figures about a store, from `Store.stats()`.
public struct StoreStats: Sendable, Equatable {
    public var path: String
    public var durability: Durability
    public var keys: Int
    /// Sum of live key and value sizes.
    public var liveBytes: Int
    /// Size of the log up to the last applied record.
    public var logBytes: UInt64
    /// Sequence number of the last commit.
    public var lastSequence: UInt64
    /// Commits made through this handle.
    public var commits: UInt64
    /// Log syncs (fdatasync or fsync) made through this handle.
    public var syncs: UInt64
}

extension Store {
    /// Reads every file of the store from disk and checks every checksum and structure.
    /// - Throws: `corrupted` naming the file and offset of the first damage; `io`; `closed`.
    public func verify() throws -> VerifyReport {
        try state.withLock { (s) throws(LogbookError) in try refresh(&s) }
        let fd = try io(logPath) { () throws(SystemError) in try files.open(logPath, .readOnly) }
        defer { files.close(fd) }
        let size = try io(logPath) { () throws(SystemError) in try files.size(fd) }
        let header = try io(logPath) { () throws(SystemError) in
            try files.readUpTo(fd, count: LogFormat.segmentHeaderSize, at: 0, path: logPath)
        }
        guard LogFormat.parseSegmentHeader(header) == segment else {
            throw LogbookError.corrupted("invalid log segment header", path: logPath, offset: 0)
        }
        var records = 0
        let parsed = try LogReader.read(
            files, fd: fd, path: logPath, from: UInt64(LogFormat.segmentHeaderSize), limit: size, after: 0
        ) { _, _ in records += 1 }
        switch parsed.end {
        case .corrupt(let offset, let reason):
            throw LogbookError(
                .corrupted,
                "\(reason) in \(logPath) at offset \(offset) (record \(records + 1)); "
                    + "\(records) records before it are intact", path: logPath, offset: offset)
        case .torn(let offset):
            return VerifyReport(files: [logPath], records: records, bytes: offset, tornTail: (offset, size - offset))
        case .clean:
            return VerifyReport(files: [logPath], records: records, bytes: parsed.validEnd, tornTail: nil)
        }
    }

    /// Figures about the store as this handle sees it now.
    public func stats() throws -> StoreStats {
        try state.withLock { (s) throws(LogbookError) in
            try refresh(&s)
            return StoreStats(
                path: path, durability: options.durability, keys: s.map.count, liveBytes: s.map.liveBytes,
                logBytes: s.appliedEnd, lastSequence: s.lastSequence, commits: s.commits, syncs: s.syncs)
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
