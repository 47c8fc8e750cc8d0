// Opening a store, replaying its log, and catching up with other processes' commits.

extension Store {
    struct Opened {
        var lock: ProcessLock
        var fd: Int32
        var state: StoreState
    }

    static func openFiles(directory: String, logPath: String, options: StoreOptions) throws(LogbookError) -> Opened {
        let files = options.fileLayer
        switch files.kind(directory) {
        case .directory:
            break
        case nil:
            guard options.createIfMissing else {
                throw LogbookError(.notFound, "no store at \(directory)", path: directory)
            }
            do { try files.makeDirectory(directory) } catch where error.errno == SystemError.eexist {
            } catch { throw LogbookError(error, path: directory) }
            if options.durability != .relaxed { try io(directory) { () throws(SystemError) in try files.syncDirectory(parent(of: directory)) } }
        case .regular, .other:
            throw LogbookError.invalid("store path \(directory) exists and is not a directory")
        }

        let lock = try ProcessLock(directory: directory, files: files)
        do throws(LogbookError) {
            if files.kind(logPath) == nil { try createLog(directory: directory, logPath: logPath, lock: lock, options: options) }
            let fd = try io(logPath) { () throws(SystemError) in try files.open(logPath, .readWrite) }
            do throws(LogbookError) {
                let state = try replay(files: files, fd: fd, logPath: logPath, lock: lock)
                return Opened(lock: lock, fd: fd, state: state)
            } catch {
                files.close(fd)
                throw error
            }
        } catch {
            lock.close()
            throw error
        }
    }

    /// Creates the first log segment under the writer lock: header written to a temporary file,
    /// synced, renamed into place, directory synced; so a crash leaves no log or a whole header.
    private static func createLog(directory: String, logPath: String, lock: ProcessLock, options: StoreOptions)
        throws(LogbookError)
    {
        let files = options.fileLayer
        try lock.acquire(timeout: options.lockTimeout, program: options.programName)
        defer { lock.release() }
        guard files.kind(logPath) == nil else { return }  // another process created it meanwhile
        let temporary = logPath + ".tmp"
        try io(temporary) { () throws(SystemError) in
            let fd = try files.open(temporary, .createReadWrite)
            defer { files.close(fd) }
            try files.truncate(fd, to: 0)
            try files.writeAll(fd, LogFormat.segmentHeader(number: 1), at: 0, path: temporary)
            if options.durability != .relaxed { try files.sync(fd, dataOnly: options.durability == .normal) }
            try files.rename(temporary, logPath)
            if options.durability != .relaxed { try files.syncDirectory(directory) }
        }
    }

    /// Reads the segment header and every record, building the map.
    private static func replay(files: any FileLayer, fd: Int32, logPath: String, lock: ProcessLock)
        throws(LogbookError) -> StoreState
    {
        let counter = lock.commitCounter  // read first: a commit during replay triggers a catch-up
        let size = try io(logPath) { () throws(SystemError) in try files.size(fd) }
        let header = try io(logPath) { () throws(SystemError) in
            try files.readUpTo(fd, count: LogFormat.segmentHeaderSize, at: 0, path: logPath)
        }
        guard LogFormat.parseSegmentHeader(header) == 1 else {
            throw LogbookError.corrupted("invalid log segment header", path: logPath, offset: 0)
        }
        var state = StoreState(appliedEnd: UInt64(LogFormat.segmentHeaderSize), fileEnd: size)
        state.seenCounter = counter
        try catchUp(&state, files: files, fd: fd, logPath: logPath, limit: size)
        return state
    }

    /// Applies the records between `appliedEnd` and `limit`. A torn tail stops it quietly;
    /// corruption throws.
    static func catchUp(
        _ s: inout StoreState, files: any FileLayer, fd: Int32, logPath: String, limit: UInt64
    ) throws(LogbookError) {
        guard limit > s.appliedEnd else { return }
        var map = s.map
        s.map = KeyMap()  // keep `map` uniquely referenced while applying
        let parsed: LogParse
        do throws(LogbookError) {
            parsed = try LogReader.read(files, fd: fd, path: logPath, from: s.appliedEnd, limit: limit, after: s.lastSequence) {
                record, _ in map.apply(record)
            }
        } catch {
            s.map = map
            throw error
        }
        s.map = map
        s.appliedEnd = parsed.validEnd
        s.lastSequence = parsed.lastSequence
        if case .corrupt(let offset, let reason) = parsed.end {
            throw LogbookError.corrupted(reason, path: logPath, offset: offset)
        }
    }

    /// Brings the map up to date with commits published by other processes. Costs one atomic
    /// load when nothing changed.
    func refresh(_ s: inout StoreState) throws(LogbookError) {
        if case .closed = s.lifecycle { throw LogbookError(.closed, "the store at \(path) is closed") }
        let counter = processLock.commitCounter
        guard counter != s.seenCounter else { return }
        s.seenCounter = counter
        guard processLock.segment == segment else { return }
        let target = processLock.publishedEnd
        guard target > s.appliedEnd else { return }
        try Self.catchUp(&s, files: files, fd: logFD, logPath: logPath, limit: target)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
