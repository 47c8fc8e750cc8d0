/// An open snapshot: its index in memory, its data file read a block at a time on demand,
/// every block checksummed when read from disk, decoded blocks kept in an LRU cache.
///
/// Shared by every view that uses this generation; the data file stays open (and readable even
/// after compaction deletes it) until the last view lets go.
final class SnapshotReader: @unchecked Sendable {
    let number: UInt64
    let dataPath: String
    let indexPath: String
    let index: SnapshotFormat.Index
    private let files: any FileLayer
    private let fd: Int32
    private let cache: Locked<LRUCache<Int, [KeyMap.Entry]>>

    /// Opens snapshot `number` in `directory`: loads and checks the index, checks the data
    /// file's header and size.
    init(files: any FileLayer, directory: String, number: UInt64, cacheBytes: Int) throws(LogbookError) {
        self.files = files
        self.number = number
        dataPath = directory + "/" + SnapshotFormat.dataName(number)
        indexPath = directory + "/" + SnapshotFormat.indexName(number)
        let indexPath = indexPath
        let indexBytes = try io(indexPath) { () throws(SystemError) in try files.readFile(indexPath) }
        switch SnapshotFormat.decodeIndex(indexBytes) {
        case .success(let index):
            guard index.number == number else {
                throw LogbookError.corrupted("index names snapshot \(index.number)", path: indexPath, offset: 16)
            }
            self.index = index
        case .failure(let error):
            throw LogbookError.corrupted(error.reason, path: indexPath, offset: error.offset)
        }
        let dataPath = dataPath
        fd = try io(dataPath) { () throws(SystemError) in try files.open(dataPath, .readOnly) }
        cache = Locked(LRUCache(capacity: cacheBytes))
        // Every stored property is set: from here on a throw runs deinit, which closes `fd`.
        let (fd, files) = (fd, files)
        let header = try io(dataPath) { () throws(SystemError) in
            try files.readUpTo(fd, count: SnapshotFormat.dataHeaderSize, at: 0, path: dataPath)
        }
        let size = try io(dataPath) { () throws(SystemError) in try files.size(fd) }
        guard SnapshotFormat.parseDataHeader(header) == number else {
            throw LogbookError.corrupted("invalid snapshot header", path: dataPath, offset: 0)
        }
        guard size == index.dataSize else {
            throw LogbookError.corrupted(
                "snapshot is \(size) bytes where its index says \(index.dataSize)", path: dataPath,
                offset: min(size, index.dataSize))
        }
    }

    deinit { files.close(fd) }

    var blockCount: Int { index.blocks.count }

    /// The decoded entries of block `i`, from the cache or checked from disk.
    func block(_ i: Int) throws(LogbookError) -> [KeyMap.Entry] {
        if let cached = cache.withLock({ $0.get(i) }) { return cached }
        let entries = try readBlock(i)
        cache.withLock { $0.put(i, entries, cost: Int(index.blocks[i].length) + 64 * entries.count) }
        return entries
    }

    /// Reads block `i` from disk and checks its framing, checksum and contents.
    func readBlock(_ i: Int) throws(LogbookError) -> [KeyMap.Entry] {
        let handle = index.blocks[i]
        let size = SnapshotFormat.blockHeaderSize + Int(handle.length)
        let (files, fd, dataPath) = (files, fd, dataPath)
        let bytes = try io(dataPath) { () throws(SystemError) in
            try files.readUpTo(fd, count: size, at: handle.offset, path: dataPath)
        }
        guard bytes.count == size, bytes.loadLittleEndian(UInt32.self, at: 0) == handle.length else {
            throw LogbookError.corrupted("snapshot block framing does not match its index", path: dataPath, offset: handle.offset)
        }
        let entries: [KeyMap.Entry]? = bytes.withUnsafeBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[SnapshotFormat.blockHeaderSize...])
            guard CRC32C.checksum(payload) == bytes.loadLittleEndian(UInt32.self, at: 4) else { return nil }
            return SnapshotFormat.decodeBlock(payload, expectedCount: Int(handle.count))
        }
        guard let entries, entries.last?.key == handle.lastKey else {
            throw LogbookError.corrupted("snapshot block checksum mismatch", path: dataPath, offset: handle.offset)
        }
        return entries
    }

    /// Index of the first block whose last key is >= `key` (`blockCount` when none).
    func blockIndex(atOrAfter key: [UInt8]) -> Int {
        var low = 0
        var high = index.blocks.count
        while low < high {
            let mid = (low + high) / 2
            if compareBytes(index.blocks[mid].lastKey, key) < 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func get(_ key: [UInt8]) throws(LogbookError) -> KeyMap.Entry? {
        let b = blockIndex(atOrAfter: key)
        guard b < blockCount else { return nil }
        let entries = try block(b)
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let c = compareBytes(entries[mid].key, key)
            if c < 0 { low = mid + 1 } else if c > 0 { high = mid } else { return entries[mid] }
        }
        return nil
    }

    var cacheFigures: (bytes: Int, hits: UInt64, misses: UInt64, evictions: UInt64) {
        cache.withLock { ($0.bytes, $0.hits, $0.misses, $0.evictions) }
    }
}

/// Walks a snapshot's entries in `lower <= key < upper`, forwards or backwards.
struct SnapshotCursor {
    let reader: SnapshotReader
    let lower: [UInt8]?
    let upper: [UInt8]?
    let reverse: Bool
    private var blockNumber: Int
    private var entries: [KeyMap.Entry] = []
    private var position = 0
    private var started = false

    init(_ reader: SnapshotReader, lower: [UInt8]?, upper: [UInt8]?, reverse: Bool) {
        self.reader = reader
        self.lower = lower
        self.upper = upper
        self.reverse = reverse
        if reverse {
            blockNumber = upper.map { min(reader.blockIndex(atOrAfter: $0), reader.blockCount - 1) } ?? reader.blockCount - 1
        } else {
            blockNumber = lower.map { reader.blockIndex(atOrAfter: $0) } ?? 0
        }
    }

    mutating func next() throws(LogbookError) -> KeyMap.Entry? {
        while true {
            if !started {
                started = true
                guard blockNumber >= 0 && blockNumber < reader.blockCount else { return nil }
                entries = try reader.block(blockNumber)
                if reverse {
                    position = entries.count - 1
                    if let upper { while position >= 0 && compareBytes(entries[position].key, upper) >= 0 { position -= 1 } }
                } else {
                    position = 0
                    if let lower { while position < entries.count && compareBytes(entries[position].key, lower) < 0 { position += 1 } }
                }
            }
            if reverse {
                if position >= 0 {
                    let entry = entries[position]
                    position -= 1
                    if let lower, compareBytes(entry.key, lower) < 0 { return nil }
                    return entry
                }
                blockNumber -= 1
                guard blockNumber >= 0 else { return nil }
                entries = try reader.block(blockNumber)
                position = entries.count - 1
            } else {
                if position < entries.count {
                    let entry = entries[position]
                    position += 1
                    if let upper, compareBytes(entry.key, upper) >= 0 { return nil }
                    return entry
                }
                blockNumber += 1
                guard blockNumber < reader.blockCount else { return nil }
                entries = try reader.block(blockNumber)
                position = 0
            }
        }
    }
}
