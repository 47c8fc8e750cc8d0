// The commit protocol, with group commit. Lock order: the leader mutex (`writer`), then the
// cross-process LOCK, then (briefly) the state mutex. See Docs/Concurrency.md.

import CLogbookShims

/// Where the latest state stands when a transaction is prepared on it: the sequence number of
/// its last commit and the MANIFEST generation it was read under.
struct CommitPoint: Equatable {
    var sequence: UInt64
    var generation: UInt64
}

/// One commit waiting in this handle's group-commit queue.
final class CommitRequest: @unchecked Sendable {
    /// Computes the mutations from the latest state (validation); run once, by the leader, while
    /// the requesting thread waits. The leader drops it before deciding the request: it borrows
    /// the requester's non-escaping closure, which must not outlive the wait.
    var prepare: ((View, CommitPoint) throws(LogbookError) -> [Mutation])?
    /// Written by the leader while it commits the batch; read by the requester once `signal`
    /// says `decided`.
    var outcome: Result<Void, LogbookError>?
    /// What the requesting thread waits for (a futex word, so that the leader wakes exactly the
    /// threads it decided, and they return without taking the queue's mutex): `waiting`, then
    /// `decided`, or `leading` when the leadership is handed to it.
    let signal: UnsafeMutablePointer<UInt32>
    /// Whether `prepare` ignores the view (see `CommitBatch.isBlind`).
    let isBlind: Bool

    static let waiting: UInt32 = 0
    static let decided: UInt32 = 1
    static let leading: UInt32 = 2

    init(blind: Bool, _ prepare: @escaping (View, CommitPoint) throws(LogbookError) -> [Mutation]) {
        self.prepare = prepare
        isBlind = blind
        signal = .allocate(capacity: 1)
        signal.initialize(to: Self.waiting)
    }

    deinit { signal.deallocate() }

    /// Sets the word (after the outcome, with release order) and wakes the requesting thread.
    func post(_ value: UInt32) {
        lb_atomic_store_u32(signal, value)
        lb_futex_wake_private(signal, 1)
    }

    /// Sleeps until the word leaves `waiting`; returns its value.
    func waitForSignal() -> UInt32 {
        while true {
            let value = lb_atomic_load_u32(signal)
            if value != Self.waiting { return value }
            lb_futex_wait_private(signal, Self.waiting, 1_000_000_000)
        }
    }
}

/// The transactions of one batch as the commit path sees them: the requests a leader took from
/// the queue, or the caller's own transaction when it commits alone (`SoloCommit`).
protocol CommitBatch {
    /// Transactions in the batch.
    var count: Int { get }
    /// Whether no transaction's `prepare` looks at the view (blind writes, e.g. `put`): then
    /// neither the records others appended and no sync covers yet nor the batch's earlier
    /// records need be applied before it runs (no working copy of the map is made).
    var isBlind: Bool { get }
    /// The `index`-th transaction's mutations, computed on `view` (the latest state with the
    /// batch's earlier records applied), which stands at `point`. `spare` is an empty array
    /// the mutations may be put in (taking it), so that a commit needs no allocation for them.
    mutating func prepare(_ index: Int, on view: View, at point: CommitPoint, spare: inout [Mutation])
        throws(LogbookError) -> [Mutation]
    /// Decides the `index`-th transaction.
    mutating func decide(_ index: Int, _ outcome: Result<Void, LogbookError>)
    func isDecided(_ index: Int) -> Bool
}

extension CommitBatch {
    /// Decides every transaction not decided yet (those written, when the batch ends).
    mutating func decideRest(_ outcome: Result<Void, LogbookError>) {
        for index in 0..<count where !isDecided(index) { decide(index, outcome) }
    }
}

extension Array: CommitBatch where Element == CommitRequest {
    var isBlind: Bool { allSatisfy { $0.isBlind } }
    func prepare(_ index: Int, on view: View, at point: CommitPoint, spare: inout [Mutation])
        throws(LogbookError) -> [Mutation]
    { try self[index].prepare!(view, point) }
    func decide(_ index: Int, _ outcome: Result<Void, LogbookError>) { self[index].outcome = outcome }
    func isDecided(_ index: Int) -> Bool { self[index].outcome != nil }
}

/// A batch of one transaction, committed by the thread that asked for it, which reads the
/// outcome from `error` afterwards.
protocol OwnCommit: CommitBatch {
    var decided: Bool { get set }
    var error: LogbookError? { get set }
}

extension OwnCommit {
    var count: Int { 1 }

    mutating func decide(_ index: Int, _ outcome: Result<Void, LogbookError>) {
        decided = true
        if case .failure(let error) = outcome { self.error = error }
    }

    func isDecided(_ index: Int) -> Bool { decided }
}

/// A batch of one transaction, committed by its own thread: no queued request, no closure or
/// result on the heap. The result goes to the caller's `slot`, so that no field's layout depends
/// on `R` (destroying the batch then needs no generic runtime call).
struct SoloCommit<R>: OwnCommit {
    let body: (View, CommitPoint) throws(LogbookError) -> (mutations: [Mutation], result: R)
    let slot: UnsafeMutablePointer<R?>
    let isBlind: Bool
    var decided = false
    var error: LogbookError? = nil

    func prepare(_ index: Int, on view: View, at point: CommitPoint, spare: inout [Mutation])
        throws(LogbookError) -> [Mutation]
    {
        let (mutations, value) = try body(view, point)
        slot.pointee = value
        return mutations
    }
}

/// A batch of one blind transaction of one mutation (`put`), committed by its own thread: no
/// closure to call, no result to pass back, and the mutation goes into the spare array.
struct FixedCommit: OwnCommit {
    /// Moved into the batch's record by `prepare` (not copied: its key and value are not
    /// retained again).
    var mutation: Mutation?
    var decided = false
    var error: LogbookError? = nil

    var isBlind: Bool { true }

    mutating func prepare(_ index: Int, on view: View, at point: CommitPoint, spare: inout [Mutation])
        -> [Mutation]
    {
        var mutations: [Mutation] = []
        swap(&mutations, &spare)
        if !mutations.isEmpty { mutations = [] }  // never so: a spare is empty
        mutations.append(mutation.take()!)  // prepared once
        return mutations
    }
}

/// What the holder of a handle's leader mutex (`Store.writer`) owns besides the right to lead.
struct Leader {
    /// Batches committed by this handle.
    var batches: UInt64 = 0
    /// Gives back the writer lock this handle keeps between commits; started when first needed.
    var keeper: LockKeeper?
    /// Where a batch's records are encoded before they are written.
    let records = RecordBuffer()
    /// Where a `relaxed` batch's records are copied to instead (when the log can be mapped).
    let appends = LogMapping()
    /// How long the last batch's sync (and install) took, in ns (0 in `relaxed` mode).
    var lastSync: UInt64 = 0
}

/// The requests waiting to be committed, and whether a leader is committing a batch now.
struct CommitQueue {
    var waiting: [CommitRequest] = []
    var leaderActive = false
    /// A new leader waits (at most `gatherWindow` ns) for this many requests before it takes
    /// the queue: the members of the last batch, back with their next commit, and those that
    /// queued during it. 0: take what is there.
    var expected = 0
    var gatherWindow: UInt64 = 0
    /// Whether a new leader is waiting for requests now (a request that completes the count
    /// signals it).
    var gathering = false
}

extension Store {
    /// Commits the mutations `prepare` computes from the latest state, as one log record.
    ///
    /// Concurrent callers in one handle are batched (group commit): one of them, the leader,
    /// takes the cross-process lock, catches up on records other processes appended (truncating
    /// a torn tail a crashed writer left), runs every waiting request's `prepare` in turn (each
    /// sees the writes of those before it), appends all their records with one write, syncs once
    /// per the durability mode, applies and publishes them, and releases the lock. Each caller
    /// gets its own result; a failed write or sync fails the whole batch. A caller that finds no
    /// leader and no queue commits alone, the same way, without queueing a request.
    /// `prepare` returns no mutations to write nothing.
    func commit<R>(
        blind: Bool = false, _ prepare: (View, CommitPoint) throws(LogbookError) -> (mutations: [Mutation], result: R)
    )
        throws(LogbookError) -> R
    {
        let result: R
        if leadsAlone() {
            result = try commitAlone(blind: blind, prepare)
        } else {
            var value: R? = nil
            let outcome = withoutActuallyEscaping(prepare) { prepare in
                let request = CommitRequest(blind: blind) { (view, point) throws(LogbookError) in
                    let (mutations, result) = try prepare(view, point)
                    value = result
                    return mutations
                }
                return submit(request)
            }
            try outcome.get()
            result = value!
        }
        compactIfDue()
        return result
    }

    /// `commit` of one mutation that does not depend on the state (a blind write): the same
    /// protocol, without calling a closure or allocating when the caller commits alone.
    func commit(blindly mutation: consuming Mutation) throws(LogbookError) {
        guard leadsAlone() else {
            let mutations = [consume mutation]
            try commit(blind: true) { (_, _) throws(LogbookError) in (mutations, ()) }
            return
        }
        var batch = FixedCommit(mutation: consume mutation)
        leadAlone(&batch)
        compactIfDue()
        if let error = batch.error.take() { throw error }
    }

    /// Takes the leadership when no one leads and no request waits (the caller then commits
    /// alone, see `leadAlone`); false otherwise.
    private func leadsAlone() -> Bool {
        commitQueue.withLock { queue in
            guard !queue.leaderActive, queue.waiting.isEmpty, queue.expected <= 1 else { return false }
            queue.leaderActive = true
            return true
        }
    }

    /// The caller's transaction as a batch of its own (see `leadAlone`).
    private func commitAlone<R>(
        blind: Bool, _ prepare: (View, CommitPoint) throws(LogbookError) -> (mutations: [Mutation], result: R)
    )
        throws(LogbookError) -> R
    {
        var result: R? = nil
        let error = withUnsafeMutablePointer(to: &result) { slot in
            withoutActuallyEscaping(prepare) { prepare in
                var solo = SoloCommit(body: prepare, slot: slot, isBlind: blind)
                leadAlone(&solo)
                return solo.error.take()  // moved out, not copied
            }
        }
        if let error { throw error }
        return result!
    }

    /// Commits the caller's `batch` of one transaction, led by the caller (who holds the
    /// leadership). Then, in `relaxed` mode, the caller leads the requests queued meanwhile; in
    /// `normal` and `paranoid` mode it hands the leadership to the first of them, which gathers
    /// the caller's next commit too (see `gather`); with none queued it gives the leadership up.
    private func leadAlone<Batch: CommitBatch>(_ batch: inout Batch) {
        let window = writer.withLock { leader in
            leader.batches &+= 1
            runBatch(&batch, &leader)
            return min(leader.lastSync / 2, Self.maxGatherWindow)
        }
        if options.durability == .relaxed {
            let queued = commitQueue.withLock { queue -> [CommitRequest]? in
                guard !queue.waiting.isEmpty else {
                    queue.leaderActive = false
                    return nil
                }
                defer { queue.waiting = [] }
                return queue.waiting
            }
            if let queued { lead(queued) }
        } else {
            // Hand over to a queued thread, which gathers this thread's next commit too.
            let next = commitQueue.withLock { queue -> CommitRequest? in
                queue.expected = 1 + queue.waiting.count
                queue.gatherWindow = window
                guard let first = queue.waiting.first else {
                    queue.leaderActive = false
                    return nil
                }
                return first
            }
            next?.post(CommitRequest.leading)
        }
    }

    /// Queues `request` and returns once it is decided, leading batches while no one else is.
    private func submit(_ request: CommitRequest) -> Result<Void, LogbookError> {
        // Either a leader decides this request, or this thread becomes the leader while it is
        // still waiting (a leader takes every waiting request, so it is then in the batch):
        // at once when no one leads, or when a leader hands the leadership to it.
        let leads = commitQueue.update { queue -> (Bool, signal: Bool) in
            queue.waiting.append(request)
            guard queue.leaderActive else {
                queue.leaderActive = true
                return (true, false)
            }
            return (false, queue.gathering && queue.waiting.count >= queue.expected)
        }
        if leads || request.waitForSignal() == CommitRequest.leading { lead(gather(), own: request) }
        return request.outcome!
    }

    /// As a new leader: the queued requests, once the expected number have queued or the
    /// gather window has passed. In `normal` and `paranoid` mode, threads that commit in a loop
    /// would otherwise split into two groups that take turns (one queues while the other's
    /// batch syncs), each batch half as big as it could be: the members of the batch just
    /// decided need a moment to come back with their next commit. The window is half the last
    /// sync, so a batch waits less than it saves.
    private func gather() -> [CommitRequest] {
        let window = commitQueue.withLock { queue -> UInt64 in
            guard queue.waiting.count < queue.expected else { return 0 }
            queue.gathering = true
            return queue.gatherWindow
        }
        func take(_ queue: inout CommitQueue) -> [CommitRequest] {
            queue.gathering = false
            defer { queue.waiting = [] }
            return queue.waiting
        }
        guard window > 0 else { return commitQueue.withLock(take) }
        return commitQueue.wait(
            until: { queue in queue.waiting.count >= queue.expected ? take(&queue) : nil },
            deadline: System.monotonicNanoseconds() + window, timedOut: take)
    }

    /// Commits `first` as the leader, then the requests that queued meanwhile (in `relaxed`
    /// mode, up to `leaderRounds` batches in all: the leader is already running, where handing
    /// over would wait for another thread to be scheduled). Gives up the leadership at the end;
    /// in `normal` and `paranoid` mode after each batch, so that the next leader can gather
    /// this one's members with the requests queued meanwhile (see `gather`).
    private func lead(_ first: [CommitRequest], own: CommitRequest? = nil) {
        let maxRounds = options.durability == .relaxed ? Self.leaderRounds : 1
        var batch = first
        var rounds = 0
        while true {
            let window = writer.withLock { leader in
                leader.batches &+= 1
                runBatch(&batch, &leader)
                return min(leader.lastSync / 2, Self.maxGatherWindow)
            }
            for member in batch { member.prepare = nil }
            rounds += 1
            let finished = batch
            let (next, successor) = commitQueue.withLock { queue -> ([CommitRequest]?, CommitRequest?) in
                guard rounds < maxRounds, !queue.waiting.isEmpty else {
                    queue.expected = window == 0 ? 0 : finished.count + queue.waiting.count
                    queue.gatherWindow = window
                    guard let first = queue.waiting.first else {
                        queue.leaderActive = false
                        return (nil, nil)
                    }
                    return (nil, first)  // the leadership passes to it
                }
                defer { queue.waiting = [] }
                return (queue.waiting, nil)
            }
            for member in finished where member !== own { member.post(CommitRequest.decided) }
            successor?.post(CommitRequest.leading)
            guard let next else { return }
            batch = next
        }
    }

    /// How many batches in a row one leader commits while requests keep arriving (`relaxed`).
    static let leaderRounds = 4
    /// The longest a new leader waits for requests (see `gather`).
    static let maxGatherWindow: UInt64 = 1_000_000

    /// Commits a batch as the leader; decides every transaction in it.
    ///
    /// In `normal` and `paranoid` mode the writer lock is released before the sync: the next
    /// writer, in any process, appends while this one syncs, and whichever sync runs later covers
    /// both (see `ProcessLock`, word 152).
    private func runBatch<Batch: CommitBatch>(_ batch: inout Batch, _ leader: inout Leader) {
        do throws(LogbookError) {
            // A closed handle is refused by `acquire` (its lock is closed), a failed one by
            // `appendBatch`, which checks the state under its mutex anyway.
            try processLock.acquire(timeout: options.lockTimeout, program: options.programName)
            let appended: AppendedBatch?
            do throws(LogbookError) {
                appended = try appendBatch(&batch, into: leader.records, through: leader.appends)
            } catch {
                keepOrRelease(&leader)
                throw error
            }
            keepOrRelease(&leader)
            if let appended {
                let started = System.monotonicNanoseconds()
                try finishBatch(appended)
                leader.lastSync = System.monotonicNanoseconds() &- started
                leader.records.giveBack(appended.records)
            }
            batch.decideRest(.success(()))
        } catch {
            batch.decideRest(.failure(error))
        }
    }

    /// Releases the writer lock after a batch, or (in `relaxed` mode, where a commit is short)
    /// keeps it while this handle commits back to back and nobody waits; a `LockKeeper` thread
    /// gives a kept lock back once the handle is idle.
    private func keepOrRelease(_ leader: inout Leader) {
        guard processLock.release(keepIdle: options.durability == .relaxed) else { return }
        if leader.keeper == nil {
            let (writer, processLock) = (writer, processLock)
            leader.keeper = LockKeeper.start {
                writer.withLockIfAvailable { _ in processLock.releaseIfIdle() } ?? ProcessLock.maxBackoff
            }
            guard leader.keeper != nil else {
                processLock.releaseKept()  // no thread to give it back: never keep it
                return
            }
        }
        leader.keeper!.kept()
    }

    /// A batch written to the log but not yet synced, published or applied to the state.
    /// (Noncopyable: it is moved along the commit path, never copied, so that neither a copy's
    /// reference counting nor a heap object is paid per commit.)
    struct AppendedBatch: ~Copyable {
        let log: ActiveLog
        /// Where the batch's bytes start and end in the log.
        let start: UInt64
        let end: UInt64
        /// Where the zeros written ahead of `end` end (`end` when none are).
        let allocate: UInt64
        /// The state's `appliedEnd` and MANIFEST generation the batch was prepared on.
        let base: UInt64
        let generation: UInt64
        /// The view after the batch (and after the records of others it was prepared on); nil
        /// when it is the state's view plus `pending` and `records`.
        let working: View?
        /// Records others appended before the batch that no sync covered when it was prepared,
        /// when `working` does not hold them (a blind batch): applied before `records`.
        let pending: [LogRecord]
        /// The records written.
        let records: [LogRecord]
    }

    /// Under the writer lock: catch up, prepare every transaction of `batch`, encode their
    /// records into `buffer` and append them (in `relaxed` mode by copying them into `mapping`,
    /// see `LogMapping`, when the options and the file system allow). A transaction whose `prepare` fails, whose record is
    /// too large or that writes nothing is decided here; the others are written. In `relaxed`
    /// mode also apply and publish, and return nil; otherwise return the batch for `finishBatch`.
    /// The caller decides the written transactions by the outcome.
    func appendBatch<Batch: CommitBatch>(_ batch: inout Batch, into buffer: RecordBuffer, through mapping: LogMapping)
        throws(LogbookError) -> AppendedBatch?
    {
        buffer.reset()
        let prepared = try state.withLock { (s) throws(LogbookError) -> AppendedBatch? in
            try Self.checkWritable(s, path: path)
            try catchUpUnderLock(&s, settle: false)
            // Later transactions of the batch must see earlier ones' writes, and every one must
            // see the records others appended that no sync has covered yet: a working copy of the
            // map (O(1) until written, but a write copies a chunk), made only when needed: a
            // blind batch reads nothing, and leaves its own and others' records to `install`.
            // (`pendingRecords` may read the files and move the state on: where to write is known
            // only after it.)
            let blind = batch.isBlind
            var working: View? = nil
            var pending: [LogRecord] = []
            var (sequence, start): (UInt64, UInt64)
            if let found = try pendingRecords(&s) {
                (pending, sequence, start) = found
                if !blind {
                    working = s.view
                    for record in pending { working!.apply(record) }
                    pending = []
                }
            } else {
                (sequence, start) = (s.lastSequence, s.appliedEnd)
            }
            var records = buffer.takeRecords()
            records.reserveCapacity(batch.count)
            for index in 0..<batch.count {
                let mutations: [Mutation]
                // `working` holds the records up to `sequence`; the state's view, up to its own.
                let point = CommitPoint(
                    sequence: working == nil ? s.lastSequence : sequence, generation: s.seenGeneration)
                do throws(LogbookError) {
                    // Not `working ?? s.view`: that copies the view (a retain and release of each of its parts).
                    if working != nil {
                        mutations = try batch.prepare(
                            index, on: working.unsafelyUnwrapped, at: point, spare: &buffer.spareMutations)
                    } else {
                        mutations = try batch.prepare(index, on: s.view, at: point, spare: &buffer.spareMutations)
                    }
                } catch {
                    batch.decide(index, .failure(error))
                    continue
                }
                guard !mutations.isEmpty else {
                    batch.decide(index, .success(()))
                    continue
                }
                let record = LogRecord(sequence: sequence + 1, mutations: mutations)
                let recordStart = buffer.count
                // Writers enforce the documented limit; readers accept up to `maxPayload` (slack).
                let payload = buffer.append(record) - LogFormat.recordHeaderSize
                guard payload <= Limits.maxTransactionSize else {
                    buffer.truncate(to: recordStart)
                    batch.decide(
                        index,
                        .failure(.invalid("transaction is \(payload) bytes; the limit is \(Limits.maxTransactionSize)"))
                    )
                    continue
                }
                sequence += 1
                records.append(record)
                if !blind && (index < batch.count - 1 || working != nil) {
                    if working == nil { working = s.view }
                    working!.apply(record)
                }
            }
            guard !records.isEmpty else { return nil }
            let end = start + UInt64(buffer.count)
            var allocate = end
            if options.durability != .relaxed && end > s.allocatedEnd {
                let unit = LogFormat.preallocation
                allocate = (end / unit + 1) * unit
                s.allocatedEnd = allocate
            }
            return AppendedBatch(
                log: s.log!, start: start, end: end, allocate: allocate, base: s.appliedEnd,
                generation: s.seenGeneration, working: working, pending: pending, records: records)
        }
        guard let prepared else { return nil }
        processLock.beginAppend(end: prepared.end)
        do throws(SystemError) {
            var copied = false
            if options.durability == .relaxed && options.mapsRelaxedAppends {
                copied = try mapping.write(
                    buffer.bytes, at: prepared.start, of: prepared.log, cuts: processLock.logCuts, files: files)
            }
            if !copied {
                try files.writeAll(prepared.log.fd, buffer.bytes, at: prepared.start, path: prepared.log.path)
            }
        } catch {
            throw failedAppend(error, log: prepared.log, start: prepared.start)
        }
        if prepared.allocate > prepared.end {
            // Zeros ahead of the log's end, so that the syncs of the appends into them need not
            // also make a new file size durable (see `LogFormat`). Part of the append: when
            // they fail, so does the commit, as when its record's write fails.
            let zeros = [UInt8](repeating: 0, count: Int(prepared.allocate - prepared.end))
            do throws(SystemError) {
                try files.writeAll(prepared.log.fd, zeros, at: prepared.end, path: prepared.log.path)
            } catch {
                throw failedAppend(error, log: prepared.log, start: prepared.start)
            }
        }
        guard options.durability == .relaxed else {
            processLock.appended(end: prepared.end)
            return prepared
        }
        state.withLock { s in
            let counter = processLock.publish(segment: prepared.log.number, end: prepared.end, durable: false)
            if install(prepared, &s) { s.seenCounter = counter }
        }
        buffer.giveBack(prepared.records)
        // Nothing syncs the log in this mode until a compaction seals it; then the sync would
        // write every byte since the last seal, with the committing thread waiting. Start the
        // write-back of each mebibyte once it is complete instead (and unmap its pages).
        let unit = Self.writebackUnit
        if prepared.start / unit != prepared.end / unit {
            let from = prepared.start / unit * unit
            files.startWriteback(prepared.log.fd, from: from, count: prepared.end / unit * unit - from)
            mapping.release(before: prepared.end / unit * unit, of: prepared.log, files: files)
        }
        return nil
    }

    /// How much log `relaxed` mode writes before it starts writing it back (see `appendBatch`).
    static let writebackUnit: UInt64 = 1 << 20

    /// After `appendBatch`, without the writer lock: sync unless another writer's sync covers
    /// the batch, publish, apply. The syncs of all processes take turns (`ProcessLock.takeSyncTurn`):
    /// while one runs, the writers of every process append; the next covers all their records
    /// at once, and those writers find their batches durable without a sync of their own.
    /// A caller that still holds the writer lock (`underLock`) does not wait for the turn: no one
    /// can append after its batch, so its own sync covers as much as any, and a holder of the
    /// turn whose sync failed may be waiting for that lock.
    func finishBatch(_ batch: borrowing AppendedBatch, underLock: Bool = false) throws(LogbookError) {
        let segment = batch.log.number
        let patience = underLock ? 0 : ProcessLock.nanoseconds(options.syncTurnPatience)
        let turn = processLock.takeSyncTurn(segment: segment, end: batch.end, patience: patience)
        if turn != .covered {
            // Read before the sync starts: what it covers.
            let through = turn == .mine ? processLock.syncedThrough(segment: segment, end: batch.end) : batch.end
            do {
                defer { if turn == .mine { processLock.endSyncTurn() } }
                do throws(SystemError) { try files.sync(batch.log.fd, dataOnly: options.durability == .normal) } catch {
                    try failedSync(error, batch)  // cuts the record, if at all, within the turn
                }
                processLock.publishDurable(segment: segment, end: through)
            }
        }
        state.withLock { s in
            // The counter is not taken as seen: others may have published past this batch.
            install(batch, &s)
            if turn != .covered { s.syncs += 1 }
        }
    }

    /// Applies a written batch to the state. When the state moved on meanwhile (a read caught
    /// up with records others published, a compaction reloaded it), reads the rest from the log
    /// instead. Returns whether the state now ends exactly at the batch's end.
    @discardableResult
    private func install(_ batch: borrowing AppendedBatch, _ s: inout StoreState) -> Bool {
        s.commits += UInt64(batch.records.count)
        guard s.log?.number == batch.log.number, s.seenGeneration == batch.generation else { return false }
        if s.appliedEnd == batch.base {
            s.reads.publish(nil)  // see `StoreState.reads`
            if let working = batch.working {
                s.view = working
            } else {
                for record in batch.pending { s.view.apply(record) }
                for record in batch.records { s.view.apply(record) }
            }
            s.appliedEnd = batch.end
            s.lastSequence = batch.records[batch.records.count - 1].sequence
        } else if s.appliedEnd < batch.end {
            // A failure here leaves the state behind; the next refresh or commit reads on.
            _ = try? Self.catchUp(&s, files: files, limit: batch.end)
        }
        if let threshold = options.autoCompactLogBytes, s.sealedLogBytes + s.appliedEnd >= threshold {
            compactionHint.store(true, ordering: .relaxed)
        }
        guard s.appliedEnd == batch.end else { return false }
        s.fileEnd = batch.end
        return true
    }

    static func checkWritable(_ s: StoreState, path: String) throws(LogbookError) {
        switch s.lifecycle {
        case .open: return
        case .closed: throw LogbookError(.closed, "the store at \(path) is closed")
        case .failed(let cause):
            throw LogbookError(
                .storeFailed,
                "the store handle for \(path) refuses writes after an earlier failure (\(cause.message)); reopen it",
                path: cause.path, errno: cause.errno)
        }
    }

    /// Under the writer lock: makes the state reflect every record in the log and the current
    /// MANIFEST. Fast path (no system call unless others committed) when the shared page shows
    /// no MANIFEST change and no writer that died mid-append.
    ///
    /// Records another writer appended but has not synced yet (between the published and the
    /// appended end) are applied too when `settle` (they are synced first, in `normal` and
    /// `paranoid` mode, and published); the commit path leaves them to `pendingRecords`.
    func catchUpUnderLock(_ s: inout StoreState, settle: Bool = true) throws(LogbookError) {
        let published = processLock.publishedEnd
        let appended = processLock.appendedEnd
        if processLock.pendingEnd == appended && appended >= published && published >= s.appliedEnd
            && s.fileEnd <= s.appliedEnd && processLock.segment == s.log?.number
            && processLock.manifestGeneration == s.seenGeneration
        {
            if published > s.appliedEnd {  // durable records others published
                try Self.catchUp(&s, files: files, limit: published)
                s.fileEnd = s.appliedEnd
            }
            if s.appliedEnd == published {
                if settle && appended > published { try catchUpSlowly(&s) }
                return
            }
            // The page promised records the log does not hold (it is only a hint): read the files.
        }
        try catchUpSlowly(&s)
    }

    /// The records other writers appended that no sync covers yet (the commit path builds on
    /// them; its own sync will cover them): those records, the last sequence and where the next
    /// record goes; nil when there are none. Under the writer lock, after
    /// `catchUpUnderLock(settle: false)`.
    private func pendingRecords(_ s: inout StoreState) throws(LogbookError) -> ([LogRecord], UInt64, UInt64)? {
        let appended = processLock.appendedEnd
        guard appended > s.appliedEnd, let log = s.log else { return nil }
        var records: [LogRecord] = []
        let parsed = try LogReader.read(
            files, fd: log.fd, path: log.path, from: s.appliedEnd, limit: appended, after: s.lastSequence
        ) { record, _ in records.append(record) }
        if case .clean = parsed.end, parsed.validEnd == appended { return (records, parsed.lastSequence, appended) }
        // Not what the page said (it is only a hint, e.g. stale after a power cut): read the files.
        try catchUpSlowly(&s)
        return nil
    }

    /// The files are the truth: re-read the MANIFEST, apply every whole record of the active
    /// segment, cut a torn tail off, sync what was not synced (`normal`, `paranoid`), publish.
    private func catchUpSlowly(_ s: inout StoreState) throws(LogbookError) {
        if processLock.pendingEnd == ProcessLock.manifestChanging {
            // A MANIFEST replacement did not finish: its process died, or its directory sync
            // failed, after the rename perhaps. Make the name durable before appending to a
            // segment only that MANIFEST names; a failed sync is not retried (fail-stop).
            do throws(SystemError) { try files.syncDirectory(path) } catch {
                throw Self.failStop(&s, LogbookError(error, path: path), "could not sync the store directory")
            }
        }
        let manifest = try Self.readManifest(context)
        if manifest != s.manifest { try Self.load(&s, context) }
        guard let log = s.log else { throw LogbookError(.closed, "the store at \(path) is closed") }
        let size = try io(log.path) { () throws(SystemError) in try files.size(log.fd) }
        guard size >= s.appliedEnd else {
            throw LogbookError.corrupted(
                "log is \(size) bytes, shorter than the \(s.appliedEnd) bytes already read", path: log.path,
                offset: size)
        }
        if case .torn = try Self.catchUp(&s, files: files, limit: size) {
            // The remains of a writer that died mid-append. Cut them off.
            try io(log.path) { () throws(SystemError) in try cutLog(log.fd, to: s.appliedEnd) }
            s.allocatedEnd = s.appliedEnd
        } else {
            s.allocatedEnd = size  // zeros after the records, if any, were allocated ahead
        }
        s.fileEnd = s.appliedEnd
        // (A segment header holds no commit: a header-only segment has nothing to sync.)
        let durable = max(processLock.durableEnd(segment: log.number), UInt64(LogFormat.segmentHeaderSize))
        if options.durability != .relaxed && s.appliedEnd > durable {
            // Records a writer appended and did not sync (it is syncing now, or it died), or that
            // a `relaxed` writer published: this state will show them and builds on them, so
            // they must be durable first.
            do throws(SystemError) { try files.sync(log.fd, dataOnly: options.durability == .normal) } catch {
                throw Self.failStop(&s, LogbookError(error, path: log.path), "could not sync the log")
            }
            s.syncs += 1
        }
        processLock.announce(generation: s.manifest.generation)
        s.seenGeneration = s.manifest.generation
        s.seenCounter = processLock.publish(
            segment: log.number, end: s.appliedEnd, durable: options.durability != .relaxed)
    }

    /// Cuts the active log segment back to `size` (under the writer lock), telling writers that
    /// map it first (`ProcessLock.logCuts`).
    func cutLog(_ fd: Int32, to size: UInt64) throws(SystemError) {
        processLock.noteCut()
        try files.truncate(fd, to: size)
    }

    /// A failed append: cut the partial record off. ENOSPC with a clean cut leaves the handle
    /// usable; anything else makes it fail-stop. Returns the error to throw.
    private func failedAppend(_ error: SystemError, log: ActiveLog, start: UInt64) -> LogbookError {
        let cut = (try? cutLog(log.fd, to: start)) != nil
        let cause = LogbookError(error, path: log.path)
        if cut && error.errno == SystemError.enospc {
            state.withLock { s in s.allocatedEnd = min(s.allocatedEnd, start) }
            processLock.beginAppend(end: start)
            return LogbookError(
                .io, "commit failed, nothing written: \(cause.message); free space and retry", path: log.path,
                errno: error.errno)
        }
        state.withLock { s in s.lifecycle = .failed(cause) }
        return LogbookError(
            .storeFailed, "commit failed: \(cause.message); this handle now refuses writes, reopen the store",
            path: log.path, errno: error.errno)
    }

    /// A failed sync: the batch's durability is unknown and Linux may have dropped the dirty
    /// pages, so never retry; the handle fail-stops. The batch's record is cut off the log when
    /// nothing was appended after it and no one published it (the lock is taken back for that);
    /// otherwise it stays, and its outcome is unknown (another writer's sync may make it durable).
    private func failedSync(_ error: SystemError, _ batch: borrowing AppendedBatch) throws(LogbookError) -> Never {
        let cause = LogbookError(error, path: batch.log.path)
        state.withLock { s in s.lifecycle = .failed(cause) }
        var cut = false
        if (try? processLock.acquire(timeout: options.lockTimeout, program: options.programName)) != nil {
            if processLock.segment == batch.log.number && processLock.appendedEnd == batch.end
                && processLock.pendingEnd == batch.end && processLock.publishedEnd <= batch.start
                && (try? cutLog(batch.log.fd, to: batch.start)) != nil
            {
                processLock.beginAppend(end: batch.start)
                processLock.appended(end: batch.start)
                cut = true
            }
            processLock.release()
        }
        throw LogbookError(
            .storeFailed,
            "commit not acknowledged: \(cause.message); "
                + (cut ? "it was removed from the log" : "it may or may not survive (a later sync may cover it)")
                + "; this handle now refuses writes, reopen the store",
            path: batch.log.path, errno: error.errno)
    }
}
