import CLogbookShims

/// An open snapshot: its index in memory, its data file mapped read-only (the kernel's page
/// cache holds it, no system call per read). Each block is checked against its CRC and its
/// index entry the first time it is used (every time in `paranoid` mode); values read from it
/// go through an LRU value cache.
///
/// Shared by every view that uses this generation; the mapping stays valid (and readable even
/// after compaction deletes the file) until the last view lets go.
final class SnapshotReader: @unchecked Sendable {
    let number: UInt64
    let dataPath: String
    let indexPath: String
    let index: SnapshotFormat.Index
    private let files: any FileLayer
    private let fd: Int32
    private let paranoid: Bool
    private var base: UnsafeRawPointer?
    private let length: Int
    /// One bit per block: checked already.
    private let checked: UnsafeMutablePointer<UInt64>
    private let cache: Locked<LRUCache<[UInt8], KeyMap.Entry>>
    private let cacheBytes: Int

    /// Opens snapshot `number` in `directory`: loads and checks the index, checks the data
    /// file's header and size, maps it.
    init(
        files: any FileLayer, directory: String, number: UInt64, cacheBytes: Int, cacheTimeToLive: Double? = nil,
        paranoid: Bool = false
    ) throws(LogbookError) {
        self.files = files
        self.number = number
        self.paranoid = paranoid
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
        length = Int(index.dataSize)
        let words = (index.blocks.count + 63) / 64
        checked = .allocate(capacity: max(1, words))
        checked.initialize(repeating: 0, count: max(1, words))
        self.cacheBytes = cacheBytes
        cache = Locked(LRUCache(capacity: cacheBytes, timeToLive: cacheTimeToLive.map { ProcessLock.nanoseconds($0) }))
        let dataPath = dataPath
        fd = try io(dataPath) { () throws(SystemError) in try files.open(dataPath, .readOnly) }
        // Every stored property is set: from here on a throw runs deinit, which cleans up.
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
        let length = length
        base = try io(dataPath) { () throws(SystemError) in try files.mapReadOnly(fd, length: length) }
    }

    deinit {
        if let base { files.unmap(UnsafeMutableRawPointer(mutating: base), length: length) }
        files.close(fd)
        checked.deallocate()
    }

    var blockCount: Int { index.blocks.count }

    /// The payload of block `i` in the mapping, checked (framing, CRC, structure, last key) the
    /// first time, or every time in paranoid mode.
    func payload(_ i: Int) throws(LogbookError) -> UnsafeRawBufferPointer {
        let handle = index.blocks[i]
        let start = Int(handle.offset)
        let size = SnapshotFormat.blockHeaderSize + Int(handle.length)
        guard let base, start + size <= length else {
            throw LogbookError.corrupted(
                "snapshot block beyond the end of the file", path: dataPath, offset: handle.offset)
        }
        let block = UnsafeRawBufferPointer(start: base + start, count: size)
        let payload = UnsafeRawBufferPointer(rebasing: block[SnapshotFormat.blockHeaderSize...])
        let (word, bit) = (i / 64, UInt64(1) << UInt64(i % 64))
        if paranoid || lb_atomic_load_u64(checked + word) & bit == 0 {
            guard UInt32(littleEndian: block.loadUnaligned(as: UInt32.self)) == handle.length,
                UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                    == CRC32C.checksum(payload),
                let entries = SnapshotFormat.decodeBlock(payload, expectedCount: Int(handle.count)),
                entries.last?.key == handle.lastKey
            else {
                throw LogbookError.corrupted("snapshot block checksum mismatch", path: dataPath, offset: handle.offset)
            }
            _ = lb_atomic_fetch_or_u64(checked + word, bit)
        }
        return payload
    }

    /// Reads and checks block `i` in full (CRC every time), decoded; for verify.
    func readBlock(_ i: Int) throws(LogbookError) -> [KeyMap.Entry] {
        let payload = try payload(i)
        let handle = index.blocks[i]
        guard
            CRC32C.checksum(payload) == UInt32(littleEndian: (payload.baseAddress! - 4).loadUnaligned(as: UInt32.self)),
            let entries = SnapshotFormat.decodeBlock(payload, expectedCount: Int(handle.count))
        else {
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
        if cacheBytes > 0, let hit = cache.withLock({ $0.get(key) }) { return hit }
        let b = blockIndex(atOrAfter: key)
        guard b < blockCount else { return nil }
        var cursor = BlockCursor(try payload(b))
        while let position = cursor.nextPosition() {
            let order = key.withUnsafeBufferPointer { k in
                lb_compare_bytes(position.key.baseAddress, position.key.count, k.baseAddress, k.count)
            }
            if order == 0 {
                let entry = KeyMap.Entry(key: key, value: Array(position.value), sequence: position.sequence)
                if cacheBytes > 0 {
                    cache.withLock { $0.put(key, entry, cost: 64 + key.count + entry.value.count) }
                }
                return entry
            }
            if order > 0 { return nil }
        }
        return nil
    }

    var cacheFigures: (bytes: Int, hits: UInt64, misses: UInt64, evictions: UInt64) {
        cache.withLock { ($0.bytes, $0.hits, $0.misses, $0.evictions) }
    }
}

/// Walks the entries of one checked block payload without copying.
struct BlockCursor {
    struct Position {
        var key: UnsafeRawBufferPointer
        var value: UnsafeRawBufferPointer
        var sequence: UInt64
    }

    let payload: UnsafeRawBufferPointer
    var offset = 0

    init(_ payload: UnsafeRawBufferPointer) { self.payload = payload }

    /// The next entry, or nil at the end (or at bytes that do not frame an entry).
    mutating func nextPosition() -> Position? {
        guard offset + SnapshotFormat.entryHeaderSize <= payload.count else { return nil }
        let keyLength = Int(UInt16(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        let valueLength = Int(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 2, as: UInt32.self)))
        let sequence = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 6, as: UInt64.self))
        let keyStart = offset + SnapshotFormat.entryHeaderSize
        guard keyStart + keyLength + valueLength <= payload.count else { return nil }
        offset = keyStart + keyLength + valueLength
        return Position(
            key: UnsafeRawBufferPointer(rebasing: payload[keyStart..<keyStart + keyLength]),
            value: UnsafeRawBufferPointer(rebasing: payload[(keyStart + keyLength)..<offset]), sequence: sequence)
    }
}

/// Walks a snapshot's entries in `lower <= key < upper`, forwards or backwards.
struct SnapshotCursor {
    let reader: SnapshotReader
    let lower: [UInt8]?
    let upper: [UInt8]?
    let reverse: Bool
    private var blockNumber: Int
    private var positions: [BlockCursor.Position] = []
    private var index = 0
    private var started = false

    init(_ reader: SnapshotReader, lower: [UInt8]?, upper: [UInt8]?, reverse: Bool) {
        self.reader = reader
        self.lower = lower
        self.upper = upper
        self.reverse = reverse
        if reverse {
            blockNumber =
                upper.map { min(reader.blockIndex(atOrAfter: $0), reader.blockCount - 1) } ?? reader.blockCount - 1
        } else {
            blockNumber = lower.map { reader.blockIndex(atOrAfter: $0) } ?? 0
        }
    }

    private mutating func load() throws(LogbookError) -> Bool {
        guard blockNumber >= 0 && blockNumber < reader.blockCount else { return false }
        var cursor = BlockCursor(try reader.payload(blockNumber))
        positions.removeAll(keepingCapacity: true)
        while let position = cursor.nextPosition() { positions.append(position) }
        index = reverse ? positions.count - 1 : 0
        return true
    }

    private static func compare(_ key: UnsafeRawBufferPointer, _ bound: [UInt8]) -> Int32 {
        bound.withUnsafeBufferPointer { b in lb_compare_bytes(key.baseAddress, key.count, b.baseAddress, b.count) }
    }

    mutating func next() throws(LogbookError) -> KeyMap.Entry? {
        if !started {
            started = true
            guard try load() else { return nil }
            if reverse, let upper {
                while index >= 0 && Self.compare(positions[index].key, upper) >= 0 { index -= 1 }
            } else if !reverse, let lower {
                while index < positions.count && Self.compare(positions[index].key, lower) < 0 { index += 1 }
            }
        }
        while true {
            if reverse {
                if index >= 0 {
                    let position = positions[index]
                    index -= 1
                    if let lower, Self.compare(position.key, lower) < 0 { return nil }
                    return KeyMap.Entry(
                        key: Array(position.key), value: Array(position.value), sequence: position.sequence)
                }
                blockNumber -= 1
            } else {
                if index < positions.count {
                    let position = positions[index]
                    index += 1
                    if let upper, Self.compare(position.key, upper) >= 0 { return nil }
                    return KeyMap.Entry(
                        key: Array(position.key), value: Array(position.value), sequence: position.sequence)
                }
                blockNumber += 1
            }
            guard try load() else { return nil }
        }
    }
}
