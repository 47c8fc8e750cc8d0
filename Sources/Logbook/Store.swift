import Synchronization

/// A Logbook store: an ordered map of byte keys to byte values in a directory, shared safely by
/// any number of threads and processes.
///
///     let store = try Store(path: "/tmp/agents")
///     try store.put("task/1", "open")
///     let value = try store.get("task/1")          // Array("open".utf8)
///     try store.write { tx in
///         let n = Int(tx.string("counter") ?? "0")!
///         try tx.put("counter", String(n + 1))
///     }
///
/// Every commit is one checksummed record appended to the write-ahead log under a
/// cross-process lock; reads come from an in-memory ordered map kept current with other
/// processes' commits. See Docs/Format.md and Docs/Durability.md.
public final class Store: Sendable {
    /// The store directory.
    public let path: String
    /// The options the store was opened with.
    public let options: StoreOptions

    let files: any FileLayer
    let processLock: ProcessLock
    let state: Locked<StoreState>
    /// The view gets read without the state mutex (the state's `reads`).
    let reads: ReadSlot
    /// Held by the group-commit leader while it commits a batch (taken before the cross-process
    /// lock, never after), and by anything else that takes the writer lock; `close()` takes it
    /// to wait for an in-flight batch.
    let writer = Locked(Leader(), recursive: true)
    /// Held by a compaction of this handle for its whole run (OFD locks do not exclude threads
    /// of one handle); `close()` takes it first, to wait for one in flight. Counts compactions.
    let compacting = Locked<UInt64>(0)
    /// The thread of automatic compactions (`StoreOptions.compactInBackground`), once one was
    /// due; `close()` stops it and marks the slot closed, so that none starts after.
    let compactor = Locked<(running: Compactor?, closed: Bool)>((nil, false))
    /// Whether the log may have outgrown the automatic compaction threshold: set when a commit
    /// is applied past it, so that `compactIfDue` takes the state mutex only then.
    let compactionHint = Atomic<Bool>(true)
    /// Commits waiting for the next batch.
    let commitQueue = LockedCondition(CommitQueue())

    /// Opens (and by default creates) the store in directory `path`.
    ///
    /// Replays the log: a torn tail left by a crash is ignored (the next writer truncates it);
    /// damage followed by valid records fails with `corrupted`, naming the file and offset.
    /// - Throws: `LogbookError` — `invalidArgument` if `path` is not a directory, `notFound` if it
    ///   is missing and `createIfMissing` is false, `corrupted`, `io`, `lockTimeout` (creating the log).
    public init(path: String, options: StoreOptions = StoreOptions()) throws {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed
        self.options = options
        files = options.fileLayer
        let opened = try Self.openFiles(directory: trimmed, options: options)
        processLock = opened.lock
        reads = opened.state.reads
        state = Locked(opened.state)
    }

    deinit { close() }

    /// Closes the handle. Later calls fail with `closed`. Idempotent.
    public func close() {
        let running = compactor.withLock { slot in
            slot.closed = true
            defer { slot.running = nil }
            return slot.running
        }
        running?.stop()  // waits for its compaction in flight, or asked for
        compacting.withLock { _ in closeWaitingForCommits() }
    }

    private func closeWaitingForCommits() {
        writer.withLock { leader in
            leader.keeper?.stop()
            leader.keeper = nil
            leader.appends.close(files)
            state.withLock { s in
                if case .closed = s.lifecycle { return }
                s.lifecycle = .closed
                s.reads.close()  // before the shared page the gets look at is unmapped
                s.view = View()
                s.log = nil  // closes the segment (see `OpenFile`)
                processLock.releaseKept()
                processLock.close()
            }
        }
    }

    // MARK: reads

    /// The value of `key`, or nil when absent. Sees every commit acknowledged before the call, in
    /// any process. No system call unless another process committed since the last operation.
    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        // Nothing changed since the view was published, here or in another process: read it
        // without the mutex. Else `readableView` catches up and publishes a new one.
        let processLock = processLock
        if let value = try reads.read(
            current: { $0.isCurrent(processLock) }, { (view) throws(LogbookError) in try view.value(key) })
        {
            return value
        }
        return try readableView().value(key)
    }

    /// Calls `body` with the value of `key`, or with nil when absent, without copying it: the
    /// bytes are the store's own (in memory or in the mapped snapshot), valid only during the
    /// call; copy what you keep. What `get` returns, at the cost of no allocation; sees what
    /// `get` sees, and takes no lock while `body` runs. An error `body` throws is rethrown.
    @inlinable
    public func withValue<R>(_ key: [UInt8], _ body: (_ value: UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var result: R? = nil
        try lend(key) { result = try body($0) }
        return result!
    }

    /// `withValue` with a body that returns nothing. The published view is retained while
    /// `body` runs, not read counted in: `body` may take its time, or close the store.
    @usableFromInline
    func lend(_ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        let published = try retainedView()
        try withExtendedLifetime(published) { try published.view.withValue(key, body) }
    }

    /// The values of `keys`, in order (nil where absent), all read from one state: what a `get`
    /// of each would return with no commit, of any process, in between. Sees every commit
    /// acknowledged before the call. Faster than one get per key on a store larger than the
    /// processor's cache: the look-ups of every eight keys go step by step together, so that
    /// their memory misses overlap (Docs/Benchmarks.md). Also in `read { }` and `write { }`.
    /// - Throws: `corrupted` or `io` when a snapshot block cannot be read.
    public func getMany(_ keys: [[UInt8]]) throws -> [[UInt8]?] {
        let published = try retainedView()
        return try withExtendedLifetime(published) { try published.view.values(keys) }
    }

    /// The published view, retained (a read that runs the caller's code, or many look-ups,
    /// holds it so: see `ReadSlot.retained`), or a new one when it is stale.
    private func retainedView() throws(LogbookError) -> PublishedView {
        let processLock = processLock
        if let published = reads.retained(current: { $0.isCurrent(processLock) }) { return published }
        return try readableView()
    }

    /// The pairs the scan selects, in key order (or reverse), from one consistent state.
    public func scan(_ options: ScanOptions = .all) throws -> [KeyValue] {
        let view = try snapshotView().view
        return try Self.scan(view, options)
    }

    /// Visits the pairs the scan selects, in key order (or reverse), from one consistent state,
    /// without copying them: `body` gets each key and value as bytes that are valid only during
    /// its call (the store's own, in memory or in the mapped snapshot: copy what you keep), and
    /// returns false to stop. What `scan` returns, at the cost of no allocation per pair; takes no
    /// lock while `body` runs. An error `body` throws ends the visit and is rethrown.
    public func visit(
        _ options: ScanOptions = .all,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try Self.visit(try snapshotView().view, options, body)
    }

    /// Runs `body` on a consistent, read-only view of the store: every read inside sees the same
    /// committed state. Takes no lock while `body` runs.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        let (view, sequence, _) = try snapshotView()
        return try body(ReadTransaction(view: view, sequence: sequence))
    }

    // MARK: writes

    /// Sets `key` to `value` in a transaction of its own.
    /// Durability: returns after write(2) (`relaxed`), fdatasync (`normal`) or fsync (`paranoid`).
    /// - Throws: `invalidArgument` (sizes, see `Limits`), `lockTimeout`, `io`, `storeFailed`, `closed`.
    public func put(_ key: [UInt8], _ value: [UInt8]) throws {
        try Self.check(key: key, value: value)
        let mutation = Mutation.put(key: key, value: value)
        try commit(blindly: mutation)
    }

    /// Removes `key`; returns whether it existed. Deleting an absent key writes nothing and takes
    /// no lock (it is absent as of the call).
    @discardableResult
    public func delete(_ key: [UInt8]) throws -> Bool {
        try Self.check(key: key)
        guard try get(key) != nil else { return false }
        return try commit { (view, _) throws(LogbookError) in
            try view.get(key) == nil ? ([], false) : ([.delete(key: key)], true)
        }
    }

    /// Sets `key` to `new` (nil deletes it) only if its current value is `expected` (nil: absent).
    /// Returns false, writing nothing, when the current value differs (decided without the
    /// writer lock when it already differs as of the call; under it otherwise).
    public func compareAndSwap(_ key: [UInt8], expected: [UInt8]?, new: [UInt8]?) throws -> Bool {
        try Self.check(key: key, value: new)
        guard try get(key) == expected else { return false }
        return try commit { (view, _) throws(LogbookError) in
            guard try view.get(key)?.value == expected else { return ([], false) }
            if let new { return ([.put(key: key, value: new)], true) }
            return (expected == nil ? [] : [.delete(key: key)], true)
        }
    }

    /// Runs `body` as a serializable transaction and commits its writes atomically.
    ///
    /// Reads see one consistent snapshot plus the transaction's own writes. At commit, under the
    /// writer lock, every key read and every range scanned is checked against the latest state; if
    /// any changed, `body` runs again (up to `options.maxConflictRetries` times), then `conflict`
    /// is thrown. Throwing from `body` rolls back. `body` may run more than once: keep side
    /// effects out of it.
    public func write<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        var attempt = 0
        while true {
            if attempt >= Self.optimisticAttempts {
                if let result = try writePessimistically(body) { return result }
            } else {
                let tx = try newTransaction()
                let result = try body(tx)
                tx.isFinished = true
                if tx.writes.isEmpty { return result }
                let mutations = tx.mutations()
                let committed = try commit { (current, latest) throws(LogbookError) in
                    defer { tx.releaseSnapshot() }
                    // A failed validation writes nothing and reports false: run the closure again.
                    return try tx.isValid(against: current, latest: latest) ? (mutations, true) : ([], false)
                }
                if committed { return result }
            }
            attempt += 1
            if attempt > options.maxConflictRetries {
                throw LogbookError(.conflict, "transaction conflict: still conflicting after \(attempt) attempts")
            }
            // Exponential back-off with full jitter, so that contending writers spread out
            // instead of colliding again: up to 20 µs × 2^attempt, capped at 5 ms.
            let ceiling = UInt64(20_000) << UInt64(min(attempt, 8))
            System.sleep(nanoseconds: UInt64.random(in: 0...ceiling))
        }
    }

    /// A transaction on the latest state. The view lives only in the transaction, so that
    /// `releaseSnapshot()` leaves the live map its only owner.
    private func newTransaction() throws(LogbookError) -> WriteTransaction {
        let (view, sequence, generation) = try snapshotView()
        return WriteTransaction(view: view, sequence: sequence, generation: generation)
    }

    /// Optimistic attempts before a conflicted transaction runs pessimistically.
    static let optimisticAttempts = 3

    /// Runs `body` holding this handle's leader mutex and the writer lock, on the latest state,
    /// so that nothing can change what it reads before it commits: the fallback that guarantees
    /// progress to a transaction that keeps losing. nil when it conflicted anyway (only a write
    /// nested inside `body` can cause that).
    private func writePessimistically<T>(_ body: (WriteTransaction) throws -> T) throws -> T? {
        try writer.withLock { leader in
            try state.withLock { (s) throws(LogbookError) in try Self.checkWritable(s, path: path) }
            try processLock.acquire(timeout: options.lockTimeout, program: options.programName)
            defer { processLock.release() }
            let tx = try state.withLock { (s) throws(LogbookError) in
                try catchUpUnderLock(&s)
                return WriteTransaction(view: s.view, sequence: s.lastSequence, generation: s.seenGeneration)
            }
            let result = try body(tx)
            tx.isFinished = true
            if tx.writes.isEmpty { return result }
            let mutations = tx.mutations()
            var valid = false
            var unit: Void? = nil
            try withUnsafeMutablePointer(to: &unit) { slot in
                var solo = SoloCommit(
                    body: { (current, latest) throws(LogbookError) in
                        defer { tx.releaseSnapshot() }
                        valid = try tx.isValid(against: current, latest: latest)
                        return (valid ? mutations : [], ())
                    }, slot: slot, isBlind: false)
                // Still under the lock: nothing can have changed what `body` read.
                if let appended = try appendBatch(&solo, into: leader.records, through: leader.appends) {
                    try finishBatch(appended, underLock: true)
                    leader.records.giveBack(appended.records)
                }
                if let error = solo.error { throw error }
            }
            return valid ? result : nil
        }
    }

    // MARK: internals shared by the extensions

    static func check(key: [UInt8], value: [UInt8]? = nil) throws(LogbookError) {
        guard !key.isEmpty else { throw LogbookError.invalid("key is empty") }
        guard key.count <= Limits.maxKeySize else {
            throw LogbookError.invalid("key is \(key.count) bytes; the limit is \(Limits.maxKeySize)")
        }
        if let value, value.count > Limits.maxValueSize {
            throw LogbookError.invalid("value is \(value.count) bytes; the limit is \(Limits.maxValueSize)")
        }
    }

    /// The latest state's view as gets read it, after the state's mutex is let go (so that gets
    /// on several threads overlap): the one made for an earlier get while nothing changed since,
    /// else a new one, published in `reads` for the gets after it. A commit takes it out before
    /// it changes the view, so that it finds the memtable's chunks unshared unless a get is
    /// still reading them.
    func readableView() throws(LogbookError) -> PublishedView {
        try state.withLock { (s) throws(LogbookError) -> PublishedView in
            try refresh(&s)
            if let published = s.reads.published, published.matches(s) { return published }
            let published = PublishedView(s)
            s.reads.publish(published)
            return published
        }
    }

    /// A consistent copy of the view (O(1)), the sequence it reflects and the MANIFEST
    /// generation it was read under.
    func snapshotView() throws(LogbookError) -> (view: View, sequence: UInt64, generation: UInt64) {
        try state.withLock { (s) throws(LogbookError) in
            try refresh(&s)
            return (s.view, s.lastSequence, s.seenGeneration)
        }
    }

    static func visit(
        _ view: View, _ options: ScanOptions, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        let bounds = options.bounds
        guard !bounds.empty else { return }
        var remaining = options.limit ?? Int.max
        // `body`'s error is not a LogbookError: carried out of the typed walks by hand.
        var failure: (any Error)? = nil
        func visit(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
            do {
                remaining -= 1
                return try body(key, value) && remaining > 0
            } catch {
                failure = error
                return false
            }
        }
        if options.reverse || view.frozen != nil {
            // No in-place walk backwards or across a compaction's frozen layer: through copies.
            try view.forEach(from: bounds.lower, to: bounds.upper, reverse: options.reverse) { entry in
                entry.key.withUnsafeBytes { key in entry.value.withUnsafeBytes { value in visit(key, value) } }
            }
        } else {
            try view.forEachInPlace(from: bounds.lower, to: bounds.upper) { key, value, _ in visit(key, value) }
        }
        if let failure { throw failure }
    }

    static func scan(_ view: View, _ options: ScanOptions) throws(LogbookError) -> [KeyValue] {
        let bounds = options.bounds
        guard !bounds.empty else { return [] }
        var result: [KeyValue] = []
        let limit = options.limit ?? Int.max
        try view.forEach(from: bounds.lower, to: bounds.upper, reverse: options.reverse) { entry in
            result.append(KeyValue(key: entry.key, value: entry.value))
            return result.count < limit
        }
        return result
    }
}

/// The lifecycle of a handle.
enum Lifecycle {
    case open
    case closed
    /// A sync or log write failed: writes are refused from then on (fail-stop).
    case failed(LogbookError)
}

/// The log segment writers append to, open.
struct ActiveLog {
    var number: UInt64
    var file: OpenFile
    var path: String
    var fd: Int32 { file.fd }

    init(number: UInt64, fd: Int32, path: String, files: any FileLayer) {
        self.number = number
        file = OpenFile(fd, files: files)
        self.path = path
    }
}

/// A file descriptor closed when its last user lets go: a batch still syncing a log segment
/// keeps it open after a compaction sealed it, a reload replaced it, or the handle closed.
final class OpenFile: Sendable {
    let fd: Int32
    private let files: any FileLayer

    init(_ fd: Int32, files: any FileLayer) {
        self.fd = fd
        self.files = files
    }

    deinit { files.close(fd) }
}

/// The view of a state at one point, frozen for gets (see `Store.readableView`).
final class PublishedView: Sendable {
    let view: View
    let sequence: UInt64
    let generation: UInt64
    let appliedEnd: UInt64
    /// The shared commit counter the state had seen.
    let counter: UInt64

    init(_ s: StoreState) {
        view = s.view
        sequence = s.lastSequence
        generation = s.seenGeneration
        appliedEnd = s.appliedEnd
        counter = s.seenCounter
    }

    /// `view.value(key)`, the view read where it lies.
    func value(_ key: [UInt8]) throws(LogbookError) -> [UInt8]? { try view.value(key) }

    /// Whether `s` is still where this view was made: every change of the view moves its last
    /// sequence number, its applied end or its MANIFEST generation.
    /// (And its commit counter: a view kept with an older one would never look current to
    /// `isCurrent`, and every get would take the mutex.)
    func matches(_ s: StoreState) -> Bool {
        sequence == s.lastSequence && appliedEnd == s.appliedEnd && generation == s.seenGeneration
            && counter == s.seenCounter
    }

    /// Whether no process committed or replaced the MANIFEST since this view was made: what
    /// `Store.refresh` checks, for a view that the state's changes take out of `reads`.
    @inline(__always)
    func isCurrent(_ lock: ProcessLock) -> Bool {
        counter == lock.commitCounter && generation == lock.manifestGeneration
    }
}

/// Everything mutable in a `Store`, guarded by one lock.
struct StoreState {
    var lifecycle: Lifecycle = .open
    var view = View()
    /// The view as gets last read it (see `Store.readableView`). Emptied (`publish(nil)`) before
    /// the view changes (`install`, `catchUp`, a reload, a compaction), so that the change finds
    /// the memtable's chunks unshared, and gets read no stale view.
    let reads = ReadSlot()
    /// The MANIFEST this state was loaded from.
    var manifest = Manifest.initial
    /// The active log segment (nil only once closed).
    var log: ActiveLog?
    /// Bytes of the log segments before the active one (sealed, not yet compacted).
    var sealedLogBytes: UInt64 = 0
    /// The shared MANIFEST generation word when this handle last looked.
    var seenGeneration: UInt64 = 0
    /// Offset just past the last applied record in the active segment.
    var appliedEnd: UInt64
    /// Sequence number of the last applied record.
    var lastSequence: UInt64 = 0
    /// The shared commit counter when this handle last looked at the log.
    var seenCounter: UInt64 = 0
    /// Where the log's bytes end at the last read: larger than `appliedEnd` when a torn tail
    /// follows (zeros a writer allocated ahead do not count, see `LogFormat`).
    var fileEnd: UInt64
    /// How far the active segment is known to be allocated (its size, zeros past `appliedEnd`
    /// included): a `normal` or `paranoid` append that ends past it writes zeros ahead first
    /// (see `LogFormat.preallocation`). Only a hint: too low, zeros are written over zeros;
    /// too high, syncs make the new file size durable as they did without it.
    var allocatedEnd: UInt64 = 0
    /// Commits made through this handle.
    var commits: UInt64 = 0
    /// Log syncs made through this handle.
    var syncs: UInt64 = 0
    /// When this handle last finished a compaction (ns since the epoch), and how it went.
    var lastCompaction: CompactionReport?
    var lastCompactionError: LogbookError?
}
