// Online backup: a consistent, verified copy of the store that opens as a store.

/// What `Store.backup(to:)` copied and checked.
public struct BackupReport: Sendable, Equatable {
    /// The backup directory.
    public var path: String
    /// The files written, in the order written (MANIFEST last).
    public var files: [String]
    /// Bytes copied.
    public var bytes: UInt64
    /// The backup holds every commit up to this sequence number, and none after it.
    public var sequence: UInt64
    /// The MANIFEST generation copied (0: the store was never compacted).
    public var generation: UInt64
    /// What verifying the copy found.
    public var verified: VerifyReport
    public var seconds: Double
}

extension Store {
    /// Copies the store into the directory `destination` (created; it must not exist, or be
    /// empty) while writers in every process keep going, then verifies the copy.
    ///
    /// The compaction lock is held throughout, so no file the MANIFEST names is replaced or
    /// deleted meanwhile. The writer lock is held only for a moment, to read a consistent end of
    /// the active log segment and the last sequence number. Then, without it: the snapshot and
    /// index (never modified once installed) and the sealed log segments are copied whole, the
    /// active segment up to that end, each file synced; then the MANIFEST (when the store has
    /// one) and the directory. The copy is checked with `Store.verify(path:)`; it holds exactly
    /// the commits up to `BackupReport.sequence`: a prefix of the history.
    /// - Throws: `invalidArgument` (destination not empty or not a directory), `lockTimeout`,
    ///   `io`, `corrupted` (the source or the copy), `closed`.
    /// - Parameter progress: called now and then with the fraction of bytes copied (0...1).
    public func backup(to destination: String, progress: ((Double) -> Void)? = nil) throws -> BackupReport {
        let started = System.monotonicNanoseconds()
        var target = destination
        while target.count > 1 && target.hasSuffix("/") { target.removeLast() }
        try prepareBackupDirectory(target)
        return try compacting.withLock { (_) throws(LogbookError) -> BackupReport in
            try state.withLock { (s) throws(LogbookError) in try Self.checkWritable(s, path: path) }
            _ = try processLock.acquireCompaction(timeout: options.lockTimeout)
            defer { processLock.releaseCompaction() }

            // One moment: the MANIFEST, the end of the active segment and its last sequence.
            let (manifest, end, sequence) = try writer.withLock { (_) throws(LogbookError) in
                try processLock.acquire(timeout: options.lockTimeout, program: options.programName)
                defer { processLock.release() }
                return try state.withLock { (s) throws(LogbookError) in
                    try Self.checkWritable(s, path: path)
                    try catchUpUnderLock(&s)
                    return (s.manifest, s.appliedEnd, s.lastSequence)
                }
            }

            var plan: [(name: String, length: UInt64?)] = []
            if manifest.snapshot > 0 {
                plan.append((SnapshotFormat.dataName(manifest.snapshot), nil))
                plan.append((SnapshotFormat.indexName(manifest.snapshot), nil))
            }
            for number in manifest.firstLog...manifest.lastLog {
                plan.append((LogFormat.segmentName(number), number == manifest.lastLog ? end : nil))
            }
            var sizes: [UInt64] = []
            for item in plan {
                if let length = item.length {
                    sizes.append(length)
                } else {
                    let source = path + "/" + item.name
                    sizes.append(
                        try io(source) { () throws(SystemError) in
                            let fd = try files.open(source, .readOnly)
                            defer { files.close(fd) }
                            return try files.size(fd)
                        })
                }
            }
            let total = max(1, sizes.reduce(0, +))
            var copied: UInt64 = 0
            var written: [String] = []
            for (item, size) in zip(plan, sizes) {
                try copyFile(item.name, length: size, into: target) { chunk in
                    copied += chunk
                    progress?(Double(copied) / Double(total))
                }
                written.append(target + "/" + item.name)
            }
            if manifest != .initial {
                let manifestPath = target + "/" + Manifest.fileName
                try io(manifestPath) { () throws(SystemError) in
                    let fd = try files.open(manifestPath, .createExclusive)
                    defer { files.close(fd) }
                    try files.writeAll(fd, manifest.encode(), at: 0, path: manifestPath)
                    try files.sync(fd, dataOnly: false)
                }
                written.append(manifestPath)
                copied += UInt64(Manifest.size)
            }
            try io(target) { () throws(SystemError) in try files.syncDirectory(target) }

            let verified: VerifyReport
            do { verified = try Self.verify(path: target, options: options) } catch let error as LogbookError {
                throw LogbookError(
                    .corrupted, "the backup in \(target) does not verify: \(error.message)", path: error.path)
            } catch {
                throw LogbookError(.io, "verifying the backup in \(target) failed: \(error)", path: target)
            }
            return BackupReport(
                path: target, files: written, bytes: copied, sequence: sequence,
                generation: manifest.generation,
                verified: verified, seconds: Double(System.monotonicNanoseconds() - started) / 1e9)
        }
    }

    /// Creates `target` (syncing its parent), or accepts it when it is an empty directory.
    private func prepareBackupDirectory(_ target: String) throws(LogbookError) {
        guard target != path, !target.hasPrefix(path + "/") else {
            throw LogbookError.invalid("backup directory \(target) is inside the store \(path); give one outside it")
        }
        switch files.kind(target) {
        case nil:
            try io(target) { () throws(SystemError) in
                try files.makeDirectory(target)
                try files.syncDirectory(Self.parent(of: target))
            }
        case .directory:
            let names = try io(target) { () throws(SystemError) in try files.listDirectory(target) }
            guard names.isEmpty else {
                throw LogbookError.invalid(
                    "backup directory \(target) is not empty; give a new or empty directory")
            }
        case .regular, .other:
            throw LogbookError.invalid("backup path \(target) exists and is not a directory")
        }
    }

    /// Copies the first `length` bytes of the store's file `name` into `directory`, synced.
    private func copyFile(
        _ name: String, length: UInt64, into directory: String, progress: (UInt64) -> Void
    ) throws(LogbookError) {
        let source = path + "/" + name
        let destination = directory + "/" + name
        let input = try io(source) { () throws(SystemError) in try files.open(source, .readOnly) }
        defer { files.close(input) }
        let output = try io(destination) { () throws(SystemError) in
            try files.open(destination, .createExclusive)
        }
        defer { files.close(output) }
        var offset: UInt64 = 0
        while offset < length {
            let want = Int(min(UInt64(4 << 20), length - offset))
            let chunk = try io(source) { () throws(SystemError) in
                try files.readUpTo(input, count: want, at: offset, path: source)
            }
            guard chunk.count == want else {
                throw LogbookError(
                    .io, "\(source) ended at \(offset + UInt64(chunk.count)) bytes, \(length) expected",
                    path: source)
            }
            try io(destination) { () throws(SystemError) in
                try files.writeAll(output, chunk, at: offset, path: destination)
            }
            offset += UInt64(want)
            progress(UInt64(want))
        }
        try io(destination) { () throws(SystemError) in try files.sync(output, dataOnly: false) }
    }
}
