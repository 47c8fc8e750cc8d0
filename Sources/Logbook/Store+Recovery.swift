// Opening a store, loading its state from the MANIFEST, snapshot and log, and catching up with
// other processes' commits.

extension Store {
    struct Opened {
        var lock: ProcessLock
        var state: StoreState
    }

    static func openFiles(directory: String, options: StoreOptions) throws(LogbookError) -> Opened {
        let files = options.fileLayer
        switch files.kind(directory) {
        case .directory:
            break
        case nil:
            guard options.createIfMissing else {
                throw LogbookError(.notFound, "no store at \(directory)", path: directory)
            }
            do throws(SystemError) { try files.makeDirectory(directory) } catch  where error.errno == SystemError.eexist
            {
            } catch { throw LogbookError(error, path: directory) }
            if options.durability != .relaxed {
                try io(directory) { () throws(SystemError) in try files.syncDirectory(parent(of: directory)) }
            }
        case .regular, .other:
            throw LogbookError.invalid("store path \(directory) exists and is not a directory")
        }
        if files.kind(directory + "/" + Manifest.fileName) == nil
            && files.kind(directory + "/" + LogFormat.segmentName(1)) == nil
        {
            // Not a store yet, or a compacted one that lost its MANIFEST (this throws then).
            _ = try readManifest(directory: directory, files: files)
            guard options.createIfMissing else {
                throw LogbookError(
                    .notFound, "no store at \(directory) (the directory holds no Logbook files)", path: directory)
            }
        }

        let lock = try ProcessLock(directory: directory, files: files, program: options.programName)
        do throws(LogbookError) {
            let context = Context(directory: directory, files: files, lock: lock, options: options)
            if needsFirstLog(context) { try createFirstLog(context) }
            var state = StoreState(appliedEnd: 0, fileEnd: 0)
            try load(&state, context)
            if lock.manifestGeneration != state.manifest.generation {
                // The page's generation word is not the MANIFEST's (a crash, a restored MANIFEST,
                // garbage): put it right under the writer lock. Left as it is, later MANIFEST
                // generations could bring it back to the value this handle saw, and this handle
                // would miss that change and read a stale view.
                try lock.acquire(timeout: options.lockTimeout, program: options.programName)
                defer { lock.release() }
                lock.announce(generation: try readManifest(context).generation)
                try load(&state, context)
            }
            // Leftovers of a crashed compaction go now, unless a compaction is running.
            if (try? lock.acquireCompaction(timeout: nil)) == true {
                if let current = try? readManifest(context) { removeLeftovers(context, manifest: current) }
                lock.releaseCompaction()
            }
            return Opened(lock: lock, state: state)
        } catch {
            lock.close()
            throw error
        }
    }

    /// What loading needs to know about a store.
    struct Context {
        var directory: String
        var files: any FileLayer
        var lock: ProcessLock
        var options: StoreOptions
        var manifestPath: String { directory + "/" + Manifest.fileName }
        func logPath(_ number: UInt64) -> String { directory + "/" + LogFormat.segmentName(number) }
    }

    var context: Context { Context(directory: path, files: files, lock: processLock, options: options) }

    /// Creates log segment 1 of a new store under the writer lock.
    private static func createFirstLog(_ context: Context) throws(LogbookError) {
        try context.lock.acquire(timeout: context.options.lockTimeout, program: context.options.programName)
        defer { context.lock.release() }
        guard needsFirstLog(context) else { return }  // another process created it meanwhile
        let fd = try createSegment(1, context, sync: context.options.durability != .relaxed)
        context.files.close(fd)
    }

    /// Whether the store has no MANIFEST and no usable first segment: `log-1.wal` is missing, or
    /// is an unfinished creation (see `isUnfinishedFirstLog`).
    private static func needsFirstLog(_ context: Context) -> Bool {
        guard context.files.kind(context.manifestPath) == nil else { return false }
        return context.files.kind(context.logPath(1)) == nil
            || isUnfinishedFirstLog(directory: context.directory, files: context.files)
    }

    /// Whether `log-1.wal` of a store with no MANIFEST is at most a header long and not a valid
    /// header: what a power cut leaves when a `relaxed` store was created (its header is never
    /// synced, so the rename may survive without the bytes: an empty, short or zero-filled
    /// file). It holds no record, so nothing was committed in it: the store is empty, and the
    /// next open writes the segment again.
    static func isUnfinishedFirstLog(directory: String, files: any FileLayer) -> Bool {
        let path = directory + "/" + LogFormat.segmentName(1)
        guard let fd = try? files.open(path, .readOnly) else { return false }
        defer { files.close(fd) }
        guard let size = try? files.size(fd), size <= UInt64(LogFormat.segmentHeaderSize),
            let header = try? files.readUpTo(fd, count: LogFormat.segmentHeaderSize, at: 0, path: path)
        else { return false }
        return LogFormat.parseSegmentHeader(header) != 1
    }

    /// Creates log segment `number`: header written to a temporary file, synced (when `sync`),
    /// renamed into place, directory synced; so a crash leaves no segment or a whole header.
    /// Returns the segment open for reading and writing.
    static func createSegment(_ number: UInt64, _ context: Context, sync: Bool) throws(LogbookError) -> Int32 {
        let files = context.files
        let path = context.logPath(number)
        let temporary = path + ".tmp"
        return try io(temporary) { () throws(SystemError) in
            let fd = try files.open(temporary, .createReadWrite)
            do throws(SystemError) {
                try files.truncate(fd, to: 0)
                try files.writeAll(fd, LogFormat.segmentHeader(number: number), at: 0, path: temporary)
                if sync { try files.sync(fd, dataOnly: context.options.durability == .normal) }
                try files.rename(temporary, path)
                if sync { try files.syncDirectory(context.directory) }
                return fd
            } catch {
                files.close(fd)
                throw error
            }
        }
    }

    /// `readManifest(directory:files:)` of the store.
    static func readManifest(_ context: Context) throws(LogbookError) -> Manifest {
        try readManifest(directory: context.directory, files: context.files)
    }

    /// The MANIFEST on disk; `.initial` when there is none and the store was never compacted.
    ///
    /// A store has no MANIFEST until its first compaction writes one, and from then on always
    /// has one (every mode syncs it before a compaction deletes anything). So a missing MANIFEST
    /// beside the files of a compacted store is damage, not a new store: read as `.initial`,
    /// the store would show only what `log-1.wal` holds (nothing, once it is gone), and the
    /// next open or compaction would delete the other files as leftovers.
    /// - Throws: `corrupted` naming the MANIFEST when it is damaged, or missing from a
    ///   compacted store (`repair` rebuilds it from the files).
    static func readManifest(directory: String, files: any FileLayer) throws(LogbookError) -> Manifest {
        if let manifest = try manifestIfPresent(directory: directory, files: files) { return manifest }
        let compacted = compactedFiles(directory: directory, files: files)
        guard compacted.isEmpty else {
            let shown = compacted.prefix(3).joined(separator: ", ") + (compacted.count > 3 ? ", ..." : "")
            throw LogbookError(
                .corrupted,
                "\(Manifest.fileName) is missing from \(directory), but the store was compacted (it holds "
                    + "\(shown)); `logbook repair` rebuilds it from them", path: directory + "/" + Manifest.fileName)
        }
        return .initial
    }

    /// The MANIFEST on disk; nil when there is none.
    static func manifestIfPresent(directory: String, files: any FileLayer) throws(LogbookError) -> Manifest? {
        let path = directory + "/" + Manifest.fileName
        let bytes: [UInt8]
        do throws(SystemError) { bytes = try files.readFile(path) } catch  where error.errno == SystemError.enoent {
            return nil
        } catch { throw LogbookError(error, path: path) }
        guard let manifest = Manifest.decode(bytes) else {
            throw LogbookError.corrupted("invalid MANIFEST (bad size, magic or checksum)", path: path, offset: 0)
        }
        return manifest
    }

    /// The files in `directory` that only a compacted store holds, sorted: snapshot files, and
    /// log segments after the first that hold more than a header (a compaction that died
    /// before its first MANIFEST leaves at most a header-only `log-2.wal`). Temporary files are
    /// not counted. Empty when the directory cannot be listed.
    static func compactedFiles(directory: String, files: any FileLayer) -> [String] {
        guard let names = try? files.listDirectory(directory) else { return [] }
        return names.filter { name in
            guard let file = StoreFile(name) else { return false }
            if file.snapshot != nil { return true }
            guard let segment = file.segment, segment > 1,
                let fd = try? files.open(directory + "/" + name, .readOnly)
            else { return false }
            defer { files.close(fd) }
            return ((try? files.size(fd)) ?? 0) > UInt64(LogFormat.segmentHeaderSize)
        }.sorted()
    }

    /// (Re)builds `s` from the files the MANIFEST names: the snapshot's index, then every log
    /// segment after it. Retries when a compaction replaces the files while it reads them.
    static func load(_ s: inout StoreState, _ context: Context) throws(LogbookError) {
        var attempt = 0
        while true {
            do throws(LogbookError) {
                try loadOnce(&s, context)
                return
            } catch  where error.errno == SystemError.enoent && attempt < 8 {
                attempt += 1  // a compaction deleted what the MANIFEST we read named: read it again
            }
        }
    }

    private static func loadOnce(_ s: inout StoreState, _ context: Context) throws(LogbookError) {
        let files = context.files
        let counter = context.lock.commitCounter  // read first: later changes trigger a catch-up
        let generation = context.lock.manifestGeneration
        let manifest = try readManifest(context)
        var snapshot: SnapshotReader? = nil
        if manifest.snapshot > 0 {
            snapshot = try SnapshotReader(
                files: files, directory: context.directory, number: manifest.snapshot,
                sequence: manifest.snapshotSequence, cacheBytes: context.options.cacheBytes,
                cacheTimeToLive: context.options.cacheTimeToLive,
                paranoid: context.options.durability == .paranoid)
        }
        // The whole log goes into an empty view: collected, then built sorted in one pass.
        var loader = BulkLoader(hasSnapshot: snapshot != nil)
        var sequence = manifest.snapshotSequence
        var sealedBytes: UInt64 = 0
        for number in manifest.firstLog...manifest.lastLog {
            let path = context.logPath(number)
            let fd = try io(path) { () throws(SystemError) in try files.open(path, .readWrite) }
            var keep = false
            defer { if !keep { files.close(fd) } }
            let size = try io(path) { () throws(SystemError) in try files.size(fd) }
            let parsed = try readSegment(
                number, fd: fd, path: path, size: size, files: files, after: sequence,
                sealed: number != manifest.lastLog
            ) { payload, recordSequence in loader.add(payload: payload, sequence: recordSequence) }
            sequence = parsed.lastSequence
            if number == manifest.lastLog {
                keep = true
                s.log = ActiveLog(number: number, fd: fd, path: path, files: files)
                s.appliedEnd = parsed.validEnd
                // Zeros after the records were allocated ahead; other bytes are a torn tail.
                let torn = parsed.end != .clean
                s.fileEnd = torn ? size : parsed.validEnd
                s.allocatedEnd = torn ? parsed.validEnd : size
            } else {
                sealedBytes += size
            }
        }
        s.reads.publish(nil)
        s.view = loader.makeView(snapshot: snapshot)
        s.manifest = manifest
        s.lastSequence = sequence
        s.sealedLogBytes = sealedBytes
        s.seenCounter = counter
        s.seenGeneration = generation
    }

    /// Checks the header of log segment `number` (open at `fd`, `size` bytes) and visits the
    /// payload and sequence number of each record after `sequence`. Damage (`SegmentEnd`: also a
    /// `sealed` segment that does not end at its last record) throws `corrupted`; a torn record at
    /// the end of the last segment is where the log ends (`LogParse.validEnd`).
    static func readSegment(
        _ number: UInt64, fd: Int32, path: String, size: UInt64, files: any FileLayer, after sequence: UInt64,
        sealed: Bool, visit: (_ payload: UnsafeRawBufferPointer, _ sequence: UInt64) -> Void
    ) throws(LogbookError) -> LogParse {
        let header = try io(path) { () throws(SystemError) in
            try files.readUpTo(fd, count: LogFormat.segmentHeaderSize, at: 0, path: path)
        }
        guard LogFormat.parseSegmentHeader(header) == number else {
            throw LogbookError.corrupted("invalid log segment header", path: path, offset: 0)
        }
        let parsed = try LogReader.readPayloads(
            files, fd: fd, path: path, from: UInt64(LogFormat.segmentHeaderSize), limit: size, after: sequence
        ) { payload, recordSequence, _ in visit(payload, recordSequence) }
        if case .damaged(let offset, _, let reason) = SegmentEnd(parsed, size: size, sealed: sealed) {
            throw LogbookError.corrupted(reason, path: path, offset: offset)
        }
        return parsed
    }

    /// Applies the records of the active segment between `appliedEnd` and `limit`. A torn tail
    /// stops it quietly; corruption throws. Returns how the pass ended (`clean` also when only
    /// zeros allocated ahead follow the records).
    @discardableResult
    static func catchUp(_ s: inout StoreState, files: any FileLayer, limit: UInt64) throws(LogbookError) -> LogEnd {
        guard let log = s.log, limit > s.appliedEnd else { return .clean }
        s.reads.publish(nil)  // see `StoreState.reads`
        var view = s.view
        s.view = View()  // keep the memtable uniquely referenced while applying
        defer { s.view = view }
        let parsed = try LogReader.read(
            files, fd: log.fd, path: log.path, from: s.appliedEnd, limit: limit, after: s.lastSequence
        ) { record, _ in view.apply(record) }
        s.appliedEnd = parsed.validEnd
        s.lastSequence = parsed.lastSequence
        if case .corrupt(let offset, let reason) = parsed.end {
            throw LogbookError.corrupted(reason, path: log.path, offset: offset)
        }
        return parsed.end
    }

    /// Brings the state up to date with commits and compactions published by other processes.
    /// Costs two atomic loads when nothing changed.
    func refresh(_ s: inout StoreState) throws(LogbookError) {
        if case .closed = s.lifecycle { throw LogbookError(.closed, "the store at \(path) is closed") }
        if processLock.manifestGeneration != s.seenGeneration {
            try Self.load(&s, context)
            return
        }
        let counter = processLock.commitCounter
        guard counter != s.seenCounter else { return }
        s.seenCounter = counter
        guard processLock.segment == s.log?.number else { return }
        let target = processLock.publishedEnd
        guard target > s.appliedEnd else { return }
        try Self.catchUp(&s, files: files, limit: target)
    }

    /// Deletes what a crashed compaction or an older generation left behind: temporary files,
    /// snapshots other than the current one, log segments outside the MANIFEST's range.
    /// Called only with the compaction lock held.
    static func removeLeftovers(_ context: Context, manifest: Manifest) {
        guard let names = try? context.files.listDirectory(context.directory) else { return }
        for name in names {
            var stale = false
            if name.hasSuffix(".tmp") {
                stale = name != LogFormat.segmentName(1) + ".tmp" || manifest != .initial
            } else if name.hasPrefix("snapshot-"), let number = UInt64(name.dropFirst(9).prefix { $0.isNumber }) {
                stale = number != manifest.snapshot
            } else if name.hasPrefix("log-"), name.hasSuffix(".wal"), let number = UInt64(name.dropFirst(4).dropLast(4))
            {
                stale = number < manifest.firstLog || number > manifest.lastLog
            }
            if stale { try? context.files.unlink(context.directory + "/" + name) }
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
