/// The bytes of the batch a commit leader is about to write: framed records back to back,
/// encoded in place in memory that the next batch reuses, so that a commit allocates nothing for
/// its bytes once the buffer has grown to its size. Used only by the holder of `Store.writer`,
/// one access at a time: its properties go without the dynamic exclusivity checks of a class's
/// (they were 8% of the instructions of a put).
final class RecordBuffer: @unchecked Sendable {
    @exclusivity(unchecked) private var base: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    /// Bytes encoded so far.
    @exclusivity(unchecked) private(set) var count = 0

    /// Capacity kept between batches; a larger buffer (a big transaction) is given back after it.
    static let keptCapacity = 1 << 20

    /// The last batch's array of records, kept for its storage (see `takeRecords`).
    @exclusivity(unchecked) private var keptRecords: [LogRecord] = []
    /// An empty array with room for a mutation, taken from the last batch's records (see
    /// `takeRecords`), for the next commit's mutations (see `CommitBatch.prepare`).
    @exclusivity(unchecked) var spareMutations: [Mutation] = []

    init() {
        capacity = 4096
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// The encoded bytes (valid until the next change).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Empties the buffer for the next batch.
    func reset() {
        count = 0
        if capacity > Self.keptCapacity { resize(to: Self.keptCapacity) }
    }

    /// An empty array for a batch's records, in the storage of the array given back last
    /// (`giveBack`): no allocation per commit. The records it held go now, not when the batch
    /// that held them ended (a batch still holds the array then, and emptying it would copy it).
    func takeRecords() -> [LogRecord] {
        var records: [LogRecord] = []
        swap(&records, &keptRecords)
        if records.capacity > Self.keptRecordCapacity { return [] }
        // Not `removeAll(keepingCapacity:)`: its generic path costs more than the records.
        while var record = records.popLast() {
            // A record's mutations array is no one else's by now: keep one for a spare.
            if spareMutations.capacity == 0 && record.mutations.count <= Self.keptMutationCapacity {
                swap(&spareMutations, &record.mutations)
                while !spareMutations.isEmpty { spareMutations.removeLast() }
            }
        }
        return records
    }

    /// Keeps `records` (a batch's, from `takeRecords`) for the next batch's.
    func giveBack(_ records: [LogRecord]) { keptRecords = records }

    /// Most records whose array's storage is kept between batches.
    static let keptRecordCapacity = 1024
    /// Most mutations whose array's storage is kept for a spare.
    static let keptMutationCapacity = 16

    /// Appends the framed record for `record`; returns its size.
    func append(_ record: LogRecord) -> Int {
        let size = LogFormat.framedSize(record)
        if count + size > capacity { resize(to: max(capacity * 2, count + size)) }
        LogFormat.encode(record, into: UnsafeMutableRawBufferPointer(start: base + count, count: size), size: size)
        count += size
        return size
    }

    /// Drops the bytes from `offset` on (a record the batch will not write after all).
    func truncate(to offset: Int) {
        precondition(offset <= count)
        count = offset
    }

    private func resize(to newCapacity: Int) {
        let new = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        new.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = new
        capacity = newCapacity
    }
}
