// Looking inside a store's files: every record, block and MANIFEST field, damage included.

/// One committed change: a put (`value` non-nil) or a delete of `key`, by the commit `sequence`.
public struct Change: Sendable, Equatable {
    public var sequence: UInt64
    public var key: [UInt8]
    /// The value put; nil for a delete.
    public var value: [UInt8]?

    public init(sequence: UInt64, key: [UInt8], value: [UInt8]?) {
        self.sequence = sequence
        self.key = key
        self.value = value
    }
}

/// One thing `Store.dump(path:parts:visit:)` found in a store's files, in file order.
public enum DumpItem: Sendable, Equatable {
    /// The MANIFEST's fields; `present` false when the store has none (never compacted).
    case manifest(
        path: String, present: Bool, generation: UInt64, snapshot: UInt64, snapshotSequence: UInt64,
        firstLog: UInt64, lastLog: UInt64)
    /// A log segment with a valid header; `named`: the MANIFEST lists it (else a leftover).
    case segment(path: String, number: UInt64, size: UInt64, named: Bool)
    /// One valid transaction record: its offset and size in the file, its changes in order.
    case record(path: String, offset: UInt64, length: UInt64, sequence: UInt64, changes: [Change])
    /// A snapshot: its index's figures.
    case snapshot(path: String, number: UInt64, keys: UInt64, blocks: Int, dataSize: UInt64)
    /// One valid snapshot block: offset and size in the data file, its entries (sequence = the
    /// commit that wrote each).
    case block(path: String, offset: UInt64, length: UInt64, entries: [Change])
    /// Zeros after a segment's last record: space a writer allocated ahead (see `LogFormat`).
    case allocated(path: String, offset: UInt64, length: UInt64)
    /// Bytes that are not valid: `torn` for the tail a crash left at the end of the active
    /// segment (not damage), otherwise damage with its reason.
    case damage(path: String, offset: UInt64, length: UInt64, reason: String, torn: Bool)
}

/// Which files `Store.dump` reads.
public struct DumpParts: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let manifest = DumpParts(rawValue: 1)
    public static let snapshot = DumpParts(rawValue: 2)
    public static let log = DumpParts(rawValue: 4)
    public static let all: DumpParts = [.manifest, .snapshot, .log]
}

extension Store {
    /// Reads the files of the store in directory `path` without opening it (no lock, nothing
    /// written) and visits everything in them in file order: the MANIFEST, each snapshot's
    /// blocks, each log segment's records (every log segment and snapshot found in the
    /// directory, leftovers included). Damage is visited as a `damage` item covering the bad
    /// bytes, and reading goes on after it at the next valid record or block; nothing is
    /// skipped silently. A file that changes while it is read (a live store) may show a torn
    /// tail at its end.
    /// - Throws: `notFound` (no such directory), `io`, or what `visit` throws.
    public static func dump(
        path: String, parts: DumpParts = .all, options: StoreOptions = StoreOptions(),
        visit: (DumpItem) throws -> Void
    ) throws {
        let files = options.fileLayer
        switch files.kind(path) {
        case .directory: break
        case nil: throw LogbookError(.notFound, "no store at \(path)", path: path)
        case .regular, .other: throw LogbookError.invalid("store path \(path) exists and is not a directory")
        }
        let names = try io(path) { () throws(SystemError) in try files.listDirectory(path) }
        func numbers(_ prefix: String, _ suffix: String) -> [UInt64] {
            names.compactMap { name -> UInt64? in
                guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
                return UInt64(name.dropFirst(prefix.count).dropLast(suffix.count))
            }.sorted()
        }
        let manifestPath = path + "/" + Manifest.fileName
        var manifest: Manifest? = nil
        do throws(LogbookError) { manifest = try readManifest(directory: path, files: files) } catch {
            if parts.contains(.manifest) {
                let size = (try? files.readFile(manifestPath).count) ?? 0
                try visit(
                    .damage(
                        path: manifestPath, offset: 0, length: UInt64(size), reason: error.message,
                        torn: false))
            }
        }
        if parts.contains(.manifest), let m = manifest {
            try visit(
                .manifest(
                    path: manifestPath, present: m != .initial || files.kind(manifestPath) != nil,
                    generation: m.generation, snapshot: m.snapshot, snapshotSequence: m.snapshotSequence,
                    firstLog: m.firstLog, lastLog: m.lastLog))
        }
        if parts.contains(.snapshot) {
            for number in Set(numbers("snapshot-", ".dat") + numbers("snapshot-", ".idx")).sorted() {
                try dumpSnapshot(number, directory: path, files: files, visit: visit)
            }
        }
        if parts.contains(.log) {
            var previous: UInt64? = manifest.map { $0.snapshotSequence }
            for number in numbers("log-", ".wal") {
                let named = manifest.map { number >= $0.firstLog && number <= $0.lastLog } ?? false
                previous = try dumpSegment(
                    number, directory: path, files: files, after: named ? previous : nil, named: named,
                    visit: visit)
                if !named { previous = manifest.map { $0.snapshotSequence } }
            }
        }
    }

    private static func dumpSnapshot(
        _ number: UInt64, directory: String, files: any FileLayer, visit: (DumpItem) throws -> Void
    ) throws {
        let reader: SnapshotReader
        do throws(LogbookError) {
            reader = try SnapshotReader(files: files, directory: directory, number: number, cacheBytes: 0)
        } catch {
            let file = error.path ?? directory + "/" + SnapshotFormat.indexName(number)
            try visit(
                .damage(path: file, offset: error.offset ?? 0, length: 0, reason: error.message, torn: false))
            return
        }
        try visit(
            .snapshot(
                path: reader.dataPath, number: number, keys: reader.index.keyCount, blocks: reader.blockCount,
                dataSize: reader.index.dataSize))
        for block in 0..<reader.blockCount {
            let handle = reader.index.block(block)
            let length = UInt64(SnapshotFormat.blockHeaderSize) + UInt64(handle.length)
            let entries: [KeyMap.Entry]
            do throws(LogbookError) { entries = try reader.readBlock(block) } catch {
                try visit(
                    .damage(
                        path: reader.dataPath, offset: handle.offset, length: length, reason: error.message,
                        torn: false))
                continue
            }
            try visit(
                .block(
                    path: reader.dataPath, offset: handle.offset, length: length,
                    entries: entries.map { Change(sequence: $0.sequence, key: $0.key, value: $0.value) }))
        }
    }

    /// Visits the records of one segment; returns the sequence number of its last valid record.
    private static func dumpSegment(
        _ number: UInt64, directory: String, files: any FileLayer, after: UInt64?, named: Bool,
        visit: (DumpItem) throws -> Void
    ) throws -> UInt64? {
        let file = directory + "/" + LogFormat.segmentName(number)
        let bytes = try io(file) { () throws(SystemError) in try files.readFile(file) }
        let header = LogFormat.segmentHeaderSize
        guard bytes.count >= header, LogFormat.parseSegmentHeader(bytes[0..<header]) == number else {
            try visit(
                .damage(
                    path: file, offset: 0, length: UInt64(bytes.count), reason: "invalid log segment header",
                    torn: false))
            return after
        }
        try visit(.segment(path: file, number: number, size: UInt64(bytes.count), named: named))
        return try bytes.withUnsafeBytes { raw throws -> UInt64? in
            var position = header
            var last = after ?? firstSequence(raw, at: position).map { $0 &- 1 } ?? 0
            var start = position
            while position < raw.count {
                start = position
                let parsed = try LogReader.parse(
                    UnsafeRawBufferPointer(rebasing: raw[position...]), base: UInt64(position), after: last,
                    isFileEnd: true
                ) { record, end in
                    let changes = record.mutations.map { mutation -> Change in
                        switch mutation {
                        case .put(let key, let value):
                            return Change(sequence: record.sequence, key: key, value: value)
                        case .delete(let key): return Change(sequence: record.sequence, key: key, value: nil)
                        }
                    }
                    try visit(
                        .record(
                            path: file, offset: UInt64(start), length: end - UInt64(start),
                            sequence: record.sequence,
                            changes: changes))
                    start = Int(end)
                }
                last = parsed.lastSequence
                switch parsed.end {
                case .clean:
                    if parsed.validEnd < UInt64(raw.count) {
                        try visit(
                            .allocated(
                                path: file, offset: parsed.validEnd, length: UInt64(raw.count) - parsed.validEnd))
                    }
                    return last
                case .torn(let offset):
                    try visit(
                        .damage(
                            path: file, offset: offset, length: UInt64(raw.count) - offset,
                            reason: "torn tail: not a whole record, and no valid record follows", torn: true))
                    return last
                case .corrupt(let offset, let reason):
                    // Go on at the next valid record, whatever its sequence number.
                    var next = Int(offset) + 1
                    while next < raw.count, firstSequence(raw, at: next) == nil { next += 1 }
                    try visit(
                        .damage(
                            path: file, offset: offset, length: UInt64(next) - offset, reason: reason,
                            torn: false))
                    if next < raw.count, let sequence = firstSequence(raw, at: next) { last = sequence &- 1 }
                    position = next
                }
            }
            return last
        }
    }

    /// The sequence number of a whole, checksummed, well-formed record at `position`, if there is one.
    private static func firstSequence(_ raw: UnsafeRawBufferPointer, at position: Int) -> UInt64? {
        guard position < raw.count, case .valid(let size) = LogReader.check(raw, at: position),
            let record = LogFormat.decodePayload(
                UnsafeRawBufferPointer(
                    rebasing: raw[(position + LogFormat.recordHeaderSize)..<(position + size)]))
        else { return nil }
        return record.sequence
    }
}
