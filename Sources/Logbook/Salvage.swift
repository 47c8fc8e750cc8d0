/// Reads what is intact in a store's files, tolerating damage anywhere: the work of
/// `Store.repair(path:)` before it writes anything. Keeps the longest valid prefix of the log
/// across its segments and every snapshot block that checks, and counts what it drops.
struct Salvage {
    let directory: String
    let files: any FileLayer

    /// Everything salvaged: snapshot entries with the kept log records applied.
    var contents = KeyMap()
    var lastSequence: UInt64 = 0
    /// The MANIFEST's generation (0 when it is missing or damaged).
    var generation: UInt64 = 0
    var problems: [String] = []
    var keptRecords = 0
    var keptBlocks = 0
    var keptSnapshotKeys: UInt64 = 0
    var droppedRecords = 0
    var droppedBytes: UInt64 = 0
    var droppedBlocks: [RepairReport.DroppedBlock] = []
    var droppedKeys: Set<[UInt8]> = []
    var tornTailBytes: UInt64 = 0

    init(directory: String, files: any FileLayer) {
        self.directory = directory
        self.files = files
    }

    /// Which snapshot and segments hold the store, and the snapshot's sequence when known.
    struct Layout {
        var snapshot: UInt64
        var sequence: UInt64?
        var segments: [UInt64]
    }

    mutating func run(names: [String]) throws(LogbookError) {
        let layout = try plan(names: names)
        if layout.snapshot > 0 { try salvageSnapshot(layout.snapshot, sequence: layout.sequence) }
        var highest: UInt64 = 0
        contents.forEach(from: nil, to: nil, reverse: false) { entry in
            highest = max(highest, entry.sequence)
            return true
        }
        lastSequence = layout.sequence ?? highest
        try salvageLog(layout.segments, after: layout.sequence, snapshotHighest: highest)
    }

    // MARK: the MANIFEST

    /// The layout the MANIFEST names; rebuilt from the names present when it is damaged or
    /// missing while other files show the store was compacted.
    private mutating func plan(names: [String]) throws(LogbookError) -> Layout {
        let found = names.compactMap(StoreFile.init)
        let snapshots = found.compactMap(\.snapshot)
        let segments = Set(found.compactMap(\.segment))
        do throws(LogbookError) {
            func named(by manifest: Manifest) -> Layout {
                Layout(
                    snapshot: manifest.snapshot, sequence: manifest.snapshotSequence,
                    segments: Array(manifest.firstLog...manifest.lastLog))
            }
            if let manifest = try Store.manifestIfPresent(directory: directory, files: files) {
                generation = manifest.generation
                return named(by: manifest)
            }
            // No MANIFEST: never compacted (other files are leftovers of a compaction that never
            // installed one), unless files only a compacted store has show it was lost.
            let compacted = Store.compactedFiles(directory: directory, files: files)
            if compacted.isEmpty {
                if Store.isUnfinishedFirstLog(directory: directory, files: files) {
                    // A creation cut short by a power cut: an empty store, not damage (open rewrites it).
                    tornTailBytes = UInt64(read(directory + "/" + LogFormat.segmentName(1))?.count ?? 0)
                    return Layout(snapshot: 0, sequence: 0, segments: [])
                }
                return named(by: .initial)
            }
            problems.append(
                "\(Manifest.fileName) is missing, but the store was compacted (it holds "
                    + "\(compacted.joined(separator: ", "))); rebuilt from the files present")
        } catch  where error.code == .corrupted {
            problems.append(
                "\(Manifest.fileName) at offset 0: invalid (bad size, magic or checksum); rebuilt from the files present"
            )
        }
        // Rebuild: the newest snapshot, and the run of consecutive segments ending at the newest.
        var run: [UInt64] = []
        if var number = segments.max() {
            while segments.contains(number) {
                run.insert(number, at: 0)
                if number == 1 { break }
                number -= 1
            }
        }
        return Layout(snapshot: snapshots.max() ?? 0, sequence: nil, segments: run)
    }

    // MARK: the snapshot

    private mutating func salvageSnapshot(_ number: UInt64, sequence: UInt64?) throws(LogbookError) {
        let dataName = SnapshotFormat.dataName(number)
        let indexName = SnapshotFormat.indexName(number)
        let dataPath = directory + "/" + dataName
        let indexPath = directory + "/" + indexName
        var index: SnapshotFormat.Index?
        switch read(indexPath) {
        case nil:
            problems.append("\(indexName) is missing; rebuilt from the data blocks")
        case let bytes?:
            switch SnapshotFormat.decodeIndex(bytes) {
            case .success(let decoded) where decoded.number == number:
                index = decoded
            case .success(let decoded):
                problems.append(
                    "\(indexName) at offset 16: names snapshot \(decoded.number); rebuilt from the data blocks"
                )
            case .failure(let error):
                problems.append(
                    "\(indexName) at offset \(error.offset): \(error.reason); rebuilt from the data blocks")
            }
        }
        guard let data = read(dataPath) else {
            problems.append("\(dataName) is missing; its keys are lost")
            let keys = index?.keyCount
            droppedBlocks.append(
                RepairReport.DroppedBlock(
                    offset: 0, bytes: index?.dataSize ?? 0, keys: keys, after: nil, through: nil))
            droppedBytes += index?.dataSize ?? 0
            return
        }
        if SnapshotFormat.parseDataHeader(data) != number {
            problems.append("\(dataName) at offset 0: invalid header")
        }
        var previous: [UInt8]? = nil  // the last key kept so far
        /// Keeps a block's entries if they check, continuing the key order; false otherwise.
        func keep(_ entries: [KeyMap.Entry]) -> Bool {
            guard let first = entries.first, previous.map({ compareBytes($0, first.key) < 0 }) ?? true else {
                return false
            }
            if let sequence, entries.contains(where: { $0.sequence > sequence }) { return false }
            for entry in entries { contents.put(entry.key, entry.value, sequence: entry.sequence) }
            previous = entries.last!.key
            keptBlocks += 1
            keptSnapshotKeys += UInt64(entries.count)
            return true
        }
        if let index {
            if UInt64(data.count) != index.dataSize {
                problems.append("\(dataName) is \(data.count) bytes where its index says \(index.dataSize)")
            }
            let blocks = index.blocks
            for (i, handle) in blocks.enumerated() {
                let entries = Self.block(data, at: Int(clamping: handle.offset))
                if let entries, entries.entries.count == Int(handle.count),
                    entries.entries.last?.key == handle.lastKey,
                    entries.size == SnapshotFormat.blockHeaderSize + Int(handle.length), keep(entries.entries)
                {
                    continue
                }
                let bytes = UInt64(SnapshotFormat.blockHeaderSize) + UInt64(handle.length)
                let after = i > 0 ? blocks[i - 1].lastKey : nil
                droppedBlocks.append(
                    RepairReport.DroppedBlock(
                        offset: handle.offset, bytes: bytes, keys: UInt64(handle.count), after: after,
                        through: handle.lastKey))
                droppedBytes += bytes
                problems.append(
                    "\(dataName) at offset \(handle.offset): block \(i + 1) of \(blocks.count) is damaged; "
                        + "its \(handle.count) keys are lost")
            }
            return
        }
        // No usable index: walk the data file block by block; past damage, resume at the next
        // offset where a whole block checks.
        var position = SnapshotFormat.dataHeaderSize
        while position < data.count {
            if let found = Self.block(data, at: position), keep(found.entries) {
                position += found.size
                continue
            }
            var next = position + 1
            while next < data.count {
                if let found = Self.block(data, at: next),
                    previous.map({ compareBytes($0, found.entries[0].key) < 0 }) ?? true
                {
                    break
                }
                next += 1
            }
            droppedBlocks.append(
                RepairReport.DroppedBlock(
                    offset: UInt64(position), bytes: UInt64(next - position), keys: nil, after: previous,
                    through: nil))
            droppedBytes += UInt64(next - position)
            problems.append(
                "\(dataName) at offset \(position): \(next - position) unreadable bytes; their keys are lost")
            position = next
        }
    }

    /// The whole, checksummed, well-formed block at `position`, and its size with its header.
    static func block(_ data: [UInt8], at position: Int) -> (entries: [KeyMap.Entry], size: Int)? {
        guard position >= 0, data.count - position >= SnapshotFormat.blockHeaderSize else { return nil }
        let length = Int(data.loadLittleEndian(UInt32.self, at: position))
        let size = SnapshotFormat.blockHeaderSize + length
        guard length >= 1, length <= SnapshotFormat.maxBlock, data.count - position >= size else {
            return nil
        }
        return data.withUnsafeBytes { raw in
            let payload = UnsafeRawBufferPointer(
                rebasing: raw[(position + SnapshotFormat.blockHeaderSize)..<(position + size)])
            guard CRC32C.checksum(payload) == data.loadLittleEndian(UInt32.self, at: position + 4),
                let entries = SnapshotFormat.decodeBlock(payload)
            else { return nil }
            return (entries, size)
        }
    }

    // MARK: the log

    private mutating func salvageLog(
        _ segments: [UInt64], after snapshotSequence: UInt64?, snapshotHighest: UInt64
    )
        throws(LogbookError)
    {
        var sequence = snapshotSequence
        var stopped = false
        for (i, number) in segments.enumerated() {
            let name = LogFormat.segmentName(number)
            guard let bytes = read(directory + "/" + name) else {
                if !stopped {
                    problems.append("\(name) is missing; it and the segments after it are dropped")
                }
                stopped = true
                continue
            }
            let headerValid = LogFormat.parseSegmentHeader(bytes) == number
            if stopped || !headerValid {
                if !stopped {
                    problems.append(
                        "\(name) at offset 0: invalid segment header; it and the segments after it are dropped"
                    )
                }
                stopped = true
                drop(bytes, from: headerValid ? LogFormat.segmentHeaderSize : 0, damaged: false)
                continue
            }
            // With no MANIFEST to say where the log starts, it starts at its first record.
            let start = sequence ?? Self.firstSequence(bytes).map { $0 &- 1 } ?? snapshotHighest
            if snapshotSequence == nil, let first = Self.firstSequence(bytes), first > snapshotHighest + 1 {
                problems.append(
                    "\(name) at offset \(LogFormat.segmentHeaderSize): the log starts at sequence \(first), the "
                        + "snapshot holds commits up to at least \(snapshotHighest); without a MANIFEST, commits in "
                        + "between cannot be checked")
            }
            var applied = 0
            let parsed = bytes.withUnsafeBytes { raw in
                LogReader.parse(
                    UnsafeRawBufferPointer(rebasing: raw[LogFormat.segmentHeaderSize...]),
                    base: UInt64(LogFormat.segmentHeaderSize), after: start, isFileEnd: true
                ) { record, _ in
                    contents.apply(record)
                    applied += 1
                }
            }
            keptRecords += applied
            sequence = parsed.lastSequence
            lastSequence = max(lastSequence, parsed.lastSequence)
            switch SegmentEnd(parsed, size: UInt64(bytes.count), sealed: i < segments.count - 1) {
            case .clean:
                break
            case .tornTail(let offset):
                tornTailBytes = UInt64(bytes.count) - offset
            case .damaged(let offset, .sealedZeros, let reason):
                problems.append("\(name) at offset \(offset): \(reason); the segments after it are dropped")
                stopped = true
            case .damaged(let offset, .sealedTorn, let reason):
                problems.append("\(name) at offset \(offset): \(reason); the segments after it are dropped")
                stopped = true
                drop(bytes, from: Int(offset), damaged: true)
            case .damaged(let offset, .corruptRecord, let reason):
                let after = droppedRecords
                stopped = true
                drop(bytes, from: Int(offset), damaged: true)
                problems.append(
                    "\(name) at offset \(offset) (record \(applied + 1) of the segment): \(reason); "
                        + "\(applied) records before it kept, \(droppedRecords - after) dropped from there on"
                )
            }
        }
    }

    /// Counts the bytes from `offset` on as dropped, and the records in them: every whole,
    /// checksummed record found there (their keys too), and, when `damaged`, the damaged record
    /// at `offset` if it is not one of those.
    private mutating func drop(_ bytes: [UInt8], from offset: Int, damaged: Bool) {
        guard offset < bytes.count else { return }
        // Zeros at the end are space a writer allocated ahead (see `LogFormat`), not data.
        var end = bytes.count
        while end > offset && bytes[end - 1] == 0 { end -= 1 }
        droppedBytes += UInt64(end - offset)
        var position = offset
        var damagedCounted = !damaged
        bytes.withUnsafeBytes { raw in
            while position < raw.count {
                if case .valid(let size) = LogReader.check(raw, at: position),
                    let record = LogFormat.decodePayload(
                        UnsafeRawBufferPointer(
                            rebasing: raw[(position + LogFormat.recordHeaderSize)..<(position + size)]))
                {
                    droppedRecords += 1
                    for mutation in record.mutations { droppedKeys.insert(mutation.key) }
                    position += size
                    damagedCounted = true
                    continue
                }
                if !damagedCounted && position == offset {
                    droppedRecords += 1  // the damaged record itself
                    damagedCounted = true
                }
                position += 1
            }
        }
    }

    /// The sequence number of the first record of a segment, if it is whole and checks.
    static func firstSequence(_ bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBytes { raw in
            let start = LogFormat.segmentHeaderSize
            guard raw.count > start, case .valid(let size) = LogReader.check(raw, at: start),
                let record = LogFormat.decodePayload(
                    UnsafeRawBufferPointer(
                        rebasing: raw[(start + LogFormat.recordHeaderSize)..<(start + size)]))
            else { return nil }
            return record.sequence
        }
    }

    /// The whole file, or nil when it is missing or cannot be read.
    private func read(_ path: String) -> [UInt8]? { try? files.readFile(path) }
}
