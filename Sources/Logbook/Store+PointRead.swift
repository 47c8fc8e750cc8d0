// Gets without a handle, for a process that reads a few keys and exits (the CLI's `get`).
//
// Opening a handle replays the whole log into a memtable: every key and value of every record
// is allocated, sorted, built into the map, and freed again at close (a 14 MB log of 100,000
// records: ~60 ms). A one-shot get reads the same files in the same order, checked the same
// way, and keeps only the key's last write: the cost of reading the log and checking its
// checksums, with no allocation per record. Several keys are read in the same one pass.

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
        try getMany([key], at: path, options: options)[0]
    }

    /// The values of `keys`, in order (nil where absent; a key may repeat), read straight from the
    /// files of the store at `path` in one pass, as `get(_:at:options:)` reads one: all from the
    /// same MANIFEST and the log after it, so from one state of the store.
    /// - Throws: as `get(_:at:options:)`, also for an empty list of keys.
    public static func getMany(_ keys: [[UInt8]], at path: String, options: StoreOptions = StoreOptions()) throws
        -> [[UInt8]?]
    {
        switch options.fileLayer.kind(path) {
        case .directory:
            let wanted = WantedKeys(keys)
            let values = try getRetrying(wanted, directory: path, options: options)
            return wanted.positions.map { values[$0] }
        case nil: throw LogbookError(.notFound, "no store at \(path)", path: path)
        case .regular, .other: throw LogbookError.invalid("store path \(path) exists and is not a directory")
        }
    }

    private static func getRetrying(_ wanted: WantedKeys, directory: String, options: StoreOptions)
        throws(LogbookError) -> [[UInt8]?]
    {
        var attempt = 0
        while true {
            do throws(LogbookError) {
                return try getOnce(wanted, directory: directory, options: options)
            } catch  where error.errno == SystemError.enoent && attempt < 8 {
                attempt += 1  // a compaction deleted what the MANIFEST we read named: read it again
            }
        }
    }

    /// `getMany(_:at:options:)` over the files one MANIFEST names; the same reads as `loadOnce`.
    /// The values of `wanted.sorted`, in its order.
    private static func getOnce(_ wanted: WantedKeys, directory: String, options: StoreOptions)
        throws(LogbookError) -> [[UInt8]?]
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
            if isUnfinishedFirstLog(directory: directory, files: files) {
                return [[UInt8]?](repeating: nil, count: wanted.sorted.count)
            }
        }
        var snapshot: SnapshotReader? = nil
        if manifest.snapshot > 0 {
            snapshot = try SnapshotReader(
                files: files, directory: directory, number: manifest.snapshot, sequence: manifest.snapshotSequence,
                cacheBytes: 0, paranoid: options.durability == .paranoid)
        }
        // Each key's last write in the log, if `written`: its value, nil for a delete.
        var written = [Bool](repeating: false, count: wanted.sorted.count)
        var values = [[UInt8]?](repeating: nil, count: wanted.sorted.count)
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
                    mutation: { isPut, key, value in
                        if let index = wanted.index(of: key) {
                            written[index] = true
                            values[index] = isPut ? [UInt8](value) : nil
                        }
                    })
            }.lastSequence
        }
        if let snapshot {
            for index in values.indices where !written[index] {
                values[index] = try snapshot.value(wanted.sorted[index])
            }
        }
        return values
    }
}

/// The keys a handle-less read looks for: each once, in byte order, so that a log record's key
/// is matched by a binary search over them, comparing bytes in place (no allocation per record).
private struct WantedKeys {
    /// The distinct keys, ascending.
    let sorted: [[UInt8]]
    /// For each key asked for, in the caller's order, its index in `sorted`.
    let positions: [Int]

    init(_ keys: [[UInt8]]) {
        let order = keys.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
        var sorted = [[UInt8]]()
        var positions = [Int](repeating: 0, count: keys.count)
        for index in order {
            if sorted.last != keys[index] { sorted.append(keys[index]) }
            positions[index] = sorted.count - 1
        }
        self.sorted = sorted
        self.positions = positions
    }

    /// The index in `sorted` of the key whose bytes are `key`, if any.
    func index(of key: UnsafeRawBufferPointer) -> Int? {
        if sorted.count == 1 {  // `logbook get KEY`
            return sorted[0].withUnsafeBytes { equalBytes($0, key) } ? 0 : nil
        }
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            let order = sorted[middle].withUnsafeBytes {
                compareRaw($0.baseAddress, $0.count, key.baseAddress, key.count)
            }
            if order == 0 { return middle }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }
}
