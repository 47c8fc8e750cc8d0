/// Writes a snapshot: entries in key order into checksummed blocks of `snapshot-N.dat.tmp`, and
/// its index into `snapshot-N.idx.tmp`. Both are synced (unless `sync` is false) but not
/// renamed: installing them is the compaction protocol's job.
struct SnapshotWriter {
    let files: any FileLayer
    let number: UInt64
    let dataPath: String
    let indexPath: String
    let sync: Bool
    private let fd: Int32
    private var offset: UInt64
    private var pending: [UInt8] = []  // written out a megabyte at a time
    private var block: [UInt8] = []
    private var blockCount: UInt32 = 0
    /// Where the block's last key lies in `block`.
    private var lastKeyStart = 0
    private var lastKeyCount = 0
    private var handles: [SnapshotFormat.BlockHandle] = []
    private(set) var keyCount: UInt64 = 0

    init(files: any FileLayer, directory: String, number: UInt64, sync: Bool) throws(LogbookError) {
        self.files = files
        self.number = number
        self.sync = sync
        dataPath = directory + "/" + SnapshotFormat.dataName(number) + ".tmp"
        indexPath = directory + "/" + SnapshotFormat.indexName(number) + ".tmp"
        let path = dataPath
        fd = try io(path) { () throws(SystemError) in
            let fd = try files.open(path, .createReadWrite)
            do throws(SystemError) { try files.truncate(fd, to: 0) } catch {
                files.close(fd)
                throw error
            }
            return fd
        }
        pending = SnapshotFormat.dataHeader(number: number)
        offset = UInt64(pending.count)
        block.reserveCapacity(SnapshotFormat.targetBlock + 256)
    }

    /// Adds the next entry; keys must come in strictly ascending order.
    mutating func add(_ key: [UInt8], _ value: [UInt8], sequence: UInt64) throws(LogbookError) {
        try makeRoom(key.count + value.count)
        key.withUnsafeBytes { key in value.withUnsafeBytes { value in append(key, value, sequence) } }
    }

    /// `add` of bytes in place (the compaction's merge reads them from the memtable and the old
    /// snapshot's mapping without copying them first).
    mutating func add(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, sequence: UInt64)
        throws(LogbookError)
    {
        try makeRoom(key.count + value.count)
        append(key, value, sequence)
    }

    /// Closes the block unless an entry of `bytes` key and value bytes still fits in it.
    private mutating func makeRoom(_ bytes: Int) throws(LogbookError) {
        if !block.isEmpty && block.count + SnapshotFormat.entryHeaderSize + bytes > SnapshotFormat.targetBlock {
            try closeBlock()
        }
    }

    private mutating func append(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ sequence: UInt64) {
        lastKeyStart = block.count + SnapshotFormat.entryHeaderSize
        lastKeyCount = key.count
        SnapshotFormat.appendEntry(key, value, sequence, to: &block)
        blockCount += 1
        keyCount += 1
    }

    private mutating func closeBlock() throws(LogbookError) {
        guard !block.isEmpty else { return }
        handles.append(
            SnapshotFormat.BlockHandle(
                offset: offset, length: UInt32(block.count), count: blockCount,
                lastKey: Array(block[lastKeyStart..<lastKeyStart + lastKeyCount])))
        pending.appendLittleEndian(UInt32(block.count))
        pending.appendLittleEndian(CRC32C.checksum(block))
        pending.append(contentsOf: block)
        offset += UInt64(SnapshotFormat.blockHeaderSize + block.count)
        block.removeAll(keepingCapacity: true)
        blockCount = 0
        if pending.count >= 1 << 20 { try flush() }
    }

    private mutating func flush() throws(LogbookError) {
        let start = offset - UInt64(pending.count)
        let (fd, files, bytes, path) = (fd, files, pending, dataPath)
        try io(path) { () throws(SystemError) in try files.writeAll(fd, bytes, at: start, path: path) }
        // The sync at the end then waits only for the last megabyte.
        if sync { files.startWriteback(fd, from: start, count: UInt64(bytes.count)) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes the last block and the index, syncs and closes both files.
    /// Returns the index and the data file size.
    mutating func finish() throws(LogbookError) -> SnapshotFormat.Index {
        defer { files.close(fd) }
        try closeBlock()
        try flush()
        let (fd, files, sync, dataPath, indexPath) = (fd, files, sync, dataPath, indexPath)
        if sync { try io(dataPath) { () throws(SystemError) in try files.sync(fd, dataOnly: false) } }
        let index = SnapshotFormat.Index(number: number, keyCount: keyCount, dataSize: offset, blocks: handles)
        let bytes = SnapshotFormat.encodeIndex(index)
        try io(indexPath) { () throws(SystemError) in
            let ifd = try files.open(indexPath, .createReadWrite)
            defer { files.close(ifd) }
            try files.truncate(ifd, to: 0)
            try files.writeAll(ifd, bytes, at: 0, path: indexPath)
            if sync { try files.sync(ifd, dataOnly: false) }
        }
        return index
    }

    /// Removes the temporary files after a failure.
    func discard() {
        try? files.unlink(dataPath)
        try? files.unlink(indexPath)
    }
}
