// Repair: salvage what is intact in a damaged store into a clean one. See Docs/Operations.md.

/// What `Store.repair(path:)` found, kept and dropped.
public struct RepairReport: Sendable, Equatable {
    /// A region of the snapshot data file repair could not read: a damaged block, or bytes
    /// between readable blocks when the index was damaged too.
    public struct DroppedBlock: Sendable, Equatable {
        /// Where it starts in the data file, and how many bytes it spans.
        public var offset: UInt64
        public var bytes: UInt64
        /// How many keys it held, when the index says (nil when the index was damaged too).
        public var keys: UInt64?
        /// Its keys sort after `after` (nil: from the first key) and up to `through` included
        /// (nil: up to the next readable block, or the end).
        public var after: [UInt8]?
        public var through: [UInt8]?
    }

    /// The store directory.
    public var path: String
    /// Whether damage was found and the store rewritten; false: nothing was changed.
    public var repaired: Bool
    /// Where the files were copied before anything changed (nil when nothing changed).
    public var backupPath: String?
    /// Every damage found, one line each, naming the file and offset.
    public var problems: [String]
    /// Log records and snapshot blocks (and the keys in them) carried into the repaired store.
    public var keptRecords: Int
    public var keptBlocks: Int
    public var keptSnapshotKeys: UInt64
    /// Log records dropped: the damaged record and every intact record after it (in its segment
    /// and in later ones), which a log cannot apply across a hole.
    public var droppedRecords: Int
    /// Bytes of log and snapshot data dropped (a torn tail is counted apart).
    public var droppedBytes: UInt64
    /// Snapshot blocks dropped.
    public var droppedBlocks: [DroppedBlock]
    /// Keys written by dropped log records that could still be read (their writes are lost), in
    /// key order. Keys of dropped snapshot blocks are described by `droppedBlocks`.
    public var droppedKeys: [[UInt8]]
    /// Bytes of a torn tail at the end of the active log (a crash's remains, not damage).
    public var tornTailBytes: UInt64
    /// Live keys and the last sequence number in the store after repair.
    public var keys: Int
    public var lastSequence: UInt64
}

extension Store {
    /// Salvages a damaged store in directory `path`, offline: keeps the longest valid prefix of
    /// its log (across segments) and every intact snapshot block (rebuilding a damaged index from
    /// the data blocks), and writes them as a clean store.
    ///
    /// Takes the compaction lock and the writer lock (waiting up to `options.lockTimeout`), so
    /// no process writes or compacts meanwhile; handles open elsewhere reload the new files at
    /// their next operation. When nothing is damaged it changes nothing (`repaired` false; a
    /// torn tail is not damage). Otherwise it first copies the store's files (MANIFEST,
    /// snapshots, log segments) into `path/backup-YYYYMMDD-HHMMSS/`, then writes a new snapshot
    /// with everything salvaged, a new empty log segment and a new MANIFEST naming only them
    /// (each synced, renamed into place, the directory synced, the MANIFEST last), deletes the
    /// old files and verifies the result. The report says exactly what was dropped.
    /// - Throws: `notFound` (no store there), `lockTimeout`, `io`, `corrupted` (the repaired
    ///   store does not verify: nothing of the old store was deleted then).
    public static func repair(path: String, options: StoreOptions = StoreOptions()) throws -> RepairReport {
        try repairFiles(path: path, options: options)
    }

    private static func repairFiles(path rawPath: String, options: StoreOptions) throws(LogbookError)
        -> RepairReport
    {
        var path = rawPath
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let files = options.fileLayer
        switch files.kind(path) {
        case .directory: break
        case nil: throw LogbookError(.notFound, "no store at \(path)", path: path)
        case .regular, .other: throw LogbookError.invalid("store path \(path) exists and is not a directory")
        }
        let names = try io(path) { () throws(SystemError) in try files.listDirectory(path) }
        guard names.contains(where: { StoreFile($0) != nil }) else {
            throw LogbookError(
                .notFound, "no store at \(path) (the directory holds no Logbook files)", path: path)
        }
        let lock = try ProcessLock(directory: path, files: files, program: options.programName)
        defer { lock.close() }
        _ = try lock.acquireCompaction(timeout: options.lockTimeout)
        defer { lock.releaseCompaction() }
        try lock.acquire(timeout: options.lockTimeout, program: options.programName)
        defer { lock.release() }

        let listed = try io(path) { () throws(SystemError) in try files.listDirectory(path) }
        var salvage = Salvage(directory: path, files: files)
        try salvage.run(names: listed)
        var report = RepairReport(
            path: path, repaired: false, backupPath: nil, problems: salvage.problems,
            keptRecords: salvage.keptRecords,
            keptBlocks: salvage.keptBlocks, keptSnapshotKeys: salvage.keptSnapshotKeys,
            droppedRecords: salvage.droppedRecords, droppedBytes: salvage.droppedBytes,
            droppedBlocks: salvage.droppedBlocks,
            droppedKeys: salvage.droppedKeys.sorted { compareBytes($0, $1) < 0 },
            tornTailBytes: salvage.tornTailBytes, keys: salvage.contents.count,
            lastSequence: salvage.lastSequence)
        guard !salvage.problems.isEmpty else { return report }

        let context = Context(directory: path, files: files, lock: lock, options: options)
        report.backupPath = try backUp(context, names: listed)
        let current = try io(path) { () throws(SystemError) in try files.listDirectory(path) }
        let numbers = current.compactMap(StoreFile.init)
        let snapshot = (numbers.compactMap(\.snapshot).max() ?? 0) + 1
        let segment = (numbers.compactMap(\.segment).max() ?? 0) + 1
        let manifest = Manifest(
            generation: max(salvage.generation, lock.manifestGeneration) + 1, snapshot: snapshot,
            snapshotSequence: salvage.lastSequence, firstLog: segment, lastLog: segment)

        // The new snapshot, then the new segment, each durable under its name before the MANIFEST
        // that names them replaces the old one.
        var writer = try SnapshotWriter(files: files, directory: path, number: snapshot, sync: true)
        do throws(LogbookError) {
            var failure: LogbookError?
            salvage.contents.forEach(from: nil, to: nil, reverse: false) { entry in
                do throws(LogbookError) {
                    try writer.add(entry.key, entry.value, sequence: entry.sequence)
                } catch {
                    failure = error
                    return false
                }
                return true
            }
            if let failure { throw failure }
            _ = try writer.finish()
            try io(path) { () throws(SystemError) in
                try files.rename(writer.dataPath, path + "/" + SnapshotFormat.dataName(snapshot))
                try files.rename(writer.indexPath, path + "/" + SnapshotFormat.indexName(snapshot))
            }
        } catch {
            writer.discard()
            throw error
        }
        files.close(try createSegment(segment, context, sync: true))
        lock.beginAppend(end: ProcessLock.manifestChanging)
        let temporary = context.manifestPath + ".tmp"
        try io(temporary) { () throws(SystemError) in
            let fd = try files.open(temporary, .createReadWrite)
            defer { files.close(fd) }
            try files.truncate(fd, to: 0)
            try files.writeAll(fd, manifest.encode(), at: 0, path: temporary)
            try files.sync(fd, dataOnly: false)
            try files.rename(temporary, context.manifestPath)
            try files.syncDirectory(path)
        }
        lock.announce(generation: manifest.generation)
        _ = lock.publish(segment: segment, end: UInt64(LogFormat.segmentHeaderSize), durable: true)

        let check = try verifyFiles(directory: path, files: files)
        guard check.snapshotKeys == UInt64(salvage.contents.count), check.records == 0 else {
            throw LogbookError.corrupted(
                "the repaired store holds \(check.snapshotKeys) keys, not \(salvage.contents.count); the old files are kept",
                path: path + "/" + SnapshotFormat.dataName(snapshot), offset: 0)
        }
        removeLeftovers(context, manifest: manifest)
        try io(path) { () throws(SystemError) in try files.syncDirectory(path) }
        report.repaired = true
        return report
    }

    /// Copies the store's files (everything but LOCK, temporary files and earlier backups) into
    /// a new `backup-YYYYMMDD-HHMMSS` directory in the store, synced; returns its path.
    private static func backUp(_ context: Context, names: [String]) throws(LogbookError) -> String {
        let files = context.files
        let stamp = timestamp(System.wallClockNanoseconds() / 1_000_000_000)
        var backup = context.directory + "/backup-" + stamp
        var attempt = 1
        while files.kind(backup) != nil {
            attempt += 1
            backup = context.directory + "/backup-\(stamp)-\(attempt)"
        }
        let target = backup
        try io(target) { () throws(SystemError) in try files.makeDirectory(target) }
        for name in names where StoreFile(name) != nil {
            let source = context.directory + "/" + name
            let copy = target + "/" + name
            try io(source) { () throws(SystemError) in
                let bytes = try files.readFile(source)
                let fd = try files.open(copy, .createExclusive)
                defer { files.close(fd) }
                try files.writeAll(fd, bytes, at: 0, path: copy)
                try files.sync(fd, dataOnly: false)
            }
        }
        try io(target) { () throws(SystemError) in
            try files.syncDirectory(target)
            try files.syncDirectory(context.directory)
        }
        return target
    }

    /// `YYYYMMDD-HHMMSS` (UTC) for `seconds` since the Unix epoch.
    static func timestamp(_ seconds: UInt64) -> String {
        let days = Int64(seconds / 86_400)
        let time = Int(seconds % 86_400)
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return
            "\(year)\(two(Int(month)))\(two(Int(day)))-\(two(time / 3600))\(two(time / 60 % 60))\(two(time % 60))"
    }
}

/// A data file of a store, by name: `MANIFEST`, `snapshot-N.dat`, `snapshot-N.idx`, `log-N.wal`.
struct StoreFile {
    var snapshot: UInt64?
    var segment: UInt64?

    init?(_ name: String) {
        if name == Manifest.fileName { return }
        if name.hasPrefix("snapshot-"), name.hasSuffix(".dat") || name.hasSuffix(".idx"),
            let number = UInt64(name.dropFirst(9).dropLast(4))
        {
            snapshot = number
            return
        }
        if name.hasPrefix("log-"), name.hasSuffix(".wal"), let number = UInt64(name.dropFirst(4).dropLast(4)) {
            segment = number
            return
        }
        return nil
    }
}
