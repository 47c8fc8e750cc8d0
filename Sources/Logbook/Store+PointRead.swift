// One get without a handle, for a process that reads one key and exits (the CLI's `get`).
//
// Opening a handle replays the whole log into a memtable: every key and value of every record
// is allocated, sorted, built into the map, and freed again at close (a 14 MB log of 100,000
// records: ~60 ms). A one-shot get reads the same files in the same order, checked the same
// way, and keeps only the key's last write: the cost of reading the log and checking its
// checksums, with no allocation per record.

extension Store {
    /// The value of `key` in the store at `path`, read straight from its files without opening a
    /// handle; nil when absent. Sees what a handle opened now would see: the MANIFEST's snapshot,
    /// then every log record after it, in order (a torn record at the end of the last segment
    /// ends the log; damage anywhere else throws `corrupted`, as opening does). Takes no lock,
    /// creates and writes nothing; `options` give the file layer and, in `paranoid` mode, make
    /// every snapshot block read be checked again.
    /// - Throws: `notFound` when there is no store at `path`; `invalidArgument` when `path` is not
    ///   a directory; `corrupted`; `io`.
    public static func get(_ key: [UInt8], at path: String, options: StoreOptions = StoreOptions()) throws -> [UInt8]? {
        switch options.fileLayer.kind(path) {
        case .directory: return try getRetrying(key, directory: path, options: options)
        case nil: throw LogbookError(.notFound, "no store at \(path)", path: path)
        case .regular, .other: throw LogbookError.invalid("store path \(path) exists and is not a directory")
        }
    }

    private static func getRetrying(_ key: [UInt8], directory: String, options: StoreOptions) throws(LogbookError)
        -> [UInt8]?
    {
        var attempt = 0
        while true {
            do throws(LogbookError) {
                return try getOnce(key, directory: directory, options: options)
            } catch  where error.errno == SystemError.enoent && attempt < 8 {
                attempt += 1  // a compaction deleted what the MANIFEST we read named: read it again
            }
        }
    }

    /// `get(_:at:options:)` over the files one MANIFEST names; the same reads as `loadOnce`.
    private static func getOnce(_ key: [UInt8], directory: String, options: StoreOptions) throws(LogbookError)
        -> [UInt8]?
    {
        let files = options.fileLayer
        let manifest = try readManifest(directory: directory, files: files)
        let firstLogPath = directory + "/" + LogFormat.segmentName(1)
        if manifest == .initial {
            // No MANIFEST: the store is log-1 alone, or nothing at all.
            if files.kind(firstLogPath) == nil {
                throw LogbookError(
                    .notFound, "no store at \(directory) (the directory holds no Logbook files)", path: directory)
            }
            if isUnfinishedFirstLog(directory: directory, files: files) { return nil }
        }
        var snapshot: SnapshotReader? = nil
        if manifest.snapshot > 0 {
            snapshot = try SnapshotReader(
                files: files, directory: directory, number: manifest.snapshot, sequence: manifest.snapshotSequence,
                cacheBytes: 0, paranoid: options.durability == .paranoid)
        }
        // The key's last write in the log: nil when none, else its value (nil for a delete).
        var lastWrite: [UInt8]?? = nil
        var sequence = manifest.snapshotSequence
        for number in manifest.firstLog...manifest.lastLog {
            let path = directory + "/" + LogFormat.segmentName(number)
            let fd = try io(path) { () throws(SystemError) in try files.open(path, .readOnly) }
            defer { files.close(fd) }
            let size = try io(path) { () throws(SystemError) in try files.size(fd) }
            sequence = try readSegment(
                number, fd: fd, path: path, size: size, files: files, after: sequence,
                sealed: number != manifest.lastLog
            ) { payload, _ in
                _ = LogFormat.walkPayload(
                    payload, start: { _ in },
                    mutation: { isPut, written, value in
                        if key.withUnsafeBytes({ equalBytes(written, $0) }) {
                            lastWrite = .some(isPut ? [UInt8](value) : nil)
                        }
                    })
            }.lastSequence
        }
        if let lastWrite { return lastWrite }
        return try snapshot?.value(key)
    }
}
