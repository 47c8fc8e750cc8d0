// The commit protocol, with group commit. Lock order: the leader mutex (`writer`), then the
// cross-process LOCK, then (briefly) the state mutex. See Docs/Concurrency.md.

/// One commit waiting in this handle's group-commit queue.
final class CommitRequest: @unchecked Sendable {
    /// Computes the mutations from the latest state (validation); run once, by the leader, while
    /// the requesting thread waits. The leader drops it before deciding the request: it borrows
    /// the requester's non-escaping closure, which must not outlive the wait.
    var prepare: ((View) throws(LogbookError) -> [Mutation])?
    /// Written by the leader while it commits the batch; read by the requester once `decided`.
    var outcome: Result<Void, LogbookError>?
    /// Set under the queue's mutex when `outcome` is final.
    var decided = false

    init(_ prepare: @escaping (View) throws(LogbookError) -> [Mutation]) { self.prepare = prepare }
}

/// What the holder of a handle's leader mutex (`Store.writer`) owns besides the right to lead.
struct Leader {
    /// Batches committed by this handle.
    var batches: UInt64 = 0
    /// Gives back the writer lock this handle keeps between commits; started when first needed.
    var keeper: LockKeeper?
}

/// The requests waiting to be committed, and whether a leader is committing a batch now.
struct CommitQueue {
    var waiting: [CommitRequest] = []
    var leaderActive = false
}

extension Store {
    /// Commits the mutations `prepare` computes from the latest state, as one log record.
    ///
    /// Concurrent callers in one handle are batched (group commit): one of them, the leader,
    /// takes the cross-process lock, catches up on records other processes appended (truncating
    /// a torn tail a crashed writer left), runs every waiting request's `prepare` in turn (each
    /// sees the writes of those before it), appends all their records with one write, syncs once
    /// per the durability mode, applies and publishes them, and releases the lock. Each caller
    /// gets its own result; a failed write or sync fails the whole batch.
    /// `prepare` returns no mutations to write nothing.
    func commit<R>(_ prepare: (View) throws(LogbookError) -> (mutations: [Mutation], result: R))
        throws(LogbookError) -> R
    {
        var result: R? = nil
        let outcome = withoutActuallyEscaping(prepare) { prepare in
            let request = CommitRequest { (view) throws(LogbookError) in
                let (mutations, value) = try prepare(view)
                result = value
                return mutations
            }
            return submit(request)
        }
        try outcome.get()
        compactIfDue()
        return result!
    }

    /// Queues `request` and returns once it is decided, leading batches while no one else is.
    private func submit(_ request: CommitRequest) -> Result<Void, LogbookError> {
        enum Turn {
            case decided
            case lead([CommitRequest])
        }
        commitQueue.withLock { $0.waiting.append(request) }
        // Either a leader decides this request, or this thread becomes the leader while it is
        // still waiting (a leader takes every waiting request, so it is then in the batch).
        let turn = commitQueue.wait { (queue) -> Turn? in
            if request.decided { return .decided }
            guard !queue.leaderActive else { return nil }
            queue.leaderActive = true
            defer { queue.waiting = [] }
            return .lead(queue.waiting)
        }
        if case .lead(let batch) = turn {
            writer.withLock { leader in
                leader.batches &+= 1
                runBatch(batch, &leader)
            }
            for member in batch { member.prepare = nil }
            commitQueue.updateAndBroadcast { queue in
                queue.leaderActive = false
                for member in batch { member.decided = true }
            }
        }
        return request.outcome!
    }

    /// Commits a batch of requests as the leader; decides every one of them.
    private func runBatch(_ batch: [CommitRequest], _ leader: inout Leader) {
        do throws(LogbookError) {
            try state.withLock { (s) throws(LogbookError) in try Self.checkWritable(s, path: path) }
            try processLock.acquire(timeout: options.lockTimeout, program: options.programName)
            defer { keepOrRelease(&leader) }
            try appendBatch(batch)
        } catch {
            for request in batch where request.outcome == nil { request.outcome = .failure(error) }
        }
    }

    /// Releases the writer lock after a batch, or keeps it while this handle commits back to back
    /// and nobody waits; a `LockKeeper` thread gives a kept lock back once the handle is idle.
    private func keepOrRelease(_ leader: inout Leader) {
        guard processLock.release(keepIdle: true) else { return }
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

    /// Under the writer lock: validate, append, sync, apply, publish.
    func appendBatch(_ batch: [CommitRequest]) throws(LogbookError) {
        let (log, start, records, bytes, working) = try state.withLock {
            (s) throws(LogbookError) -> (ActiveLog, UInt64, [(CommitRequest, LogRecord)], [UInt8], View?) in
            try Self.checkWritable(s, path: path)
            try catchUpUnderLock(&s)
            var bytes: [UInt8] = []
            var records: [(CommitRequest, LogRecord)] = []
            var sequence = s.lastSequence
            // Later requests of the batch must see earlier ones' writes: a working copy of the map
            // (O(1) until written), made only when a second request follows.
            var working: View? = nil
            for (index, request) in batch.enumerated() {
                let mutations: [Mutation]
                do throws(LogbookError) { mutations = try request.prepare!(working ?? s.view) } catch {
                    request.outcome = .failure(error)
                    continue
                }
                guard !mutations.isEmpty else {
                    request.outcome = .success(())
                    continue
                }
                let record = LogRecord(sequence: sequence + 1, mutations: mutations)
                let recordStart = bytes.count
                LogFormat.appendRecord(record, to: &bytes)
                // Writers enforce the documented limit; readers accept up to `maxPayload` (slack).
                let payload = bytes.count - recordStart - LogFormat.recordHeaderSize
                guard payload <= Limits.maxTransactionSize else {
                    bytes.removeSubrange(recordStart...)
                    request.outcome = .failure(
                        .invalid("transaction is \(payload) bytes; the limit is \(Limits.maxTransactionSize)"))
                    continue
                }
                sequence += 1
                records.append((request, record))
                if index < batch.count - 1 || working != nil {
                    if working == nil { working = s.view }
                    working!.apply(record)
                }
            }
            return (s.log!, s.appliedEnd, records, bytes, working)
        }
        guard !records.isEmpty else { return }
        let end = start + UInt64(bytes.count)

        processLock.beginAppend(end: end)
        do throws(SystemError) {
            try files.writeAll(log.fd, bytes, at: start, path: log.path)
        } catch {
            try failedAppend(error, log: log, start: start)
        }
        if options.durability != .relaxed {
            do throws(SystemError) { try files.sync(log.fd, dataOnly: options.durability == .normal) } catch {
                try failedSync(error, log: log, start: start)
            }
        }
        state.withLock { s in
            if let working {
                s.view = working
            } else {
                for (_, record) in records { s.view.apply(record) }
            }
            s.appliedEnd = end
            s.fileEnd = end
            s.lastSequence = records[records.count - 1].1.sequence
            s.commits += UInt64(records.count)
            if options.durability != .relaxed { s.syncs += 1 }
            s.seenCounter = processLock.publish(segment: log.number, end: end)
        }
        for (request, _) in records { request.outcome = .success(()) }
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
    /// MANIFEST. Fast path (no system call) when the shared page shows no append since ours, no
    /// writer that died mid-append, and no MANIFEST change.
    func catchUpUnderLock(_ s: inout StoreState) throws(LogbookError) {
        let published = processLock.publishedEnd
        if processLock.pendingEnd == published && published == s.appliedEnd && s.fileEnd == s.appliedEnd
            && processLock.segment == s.log?.number && processLock.manifestGeneration == s.seenGeneration
        {
            return
        }
        // Slow path: the files are the truth. A compaction may have replaced the MANIFEST.
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
        try Self.catchUp(&s, files: files, limit: size)
        if s.appliedEnd < size {
            // A torn tail: the remains of a writer that died mid-append. Cut it off.
            try io(log.path) { () throws(SystemError) in try files.truncate(log.fd, to: s.appliedEnd) }
        }
        s.fileEnd = s.appliedEnd
        processLock.announce(generation: s.manifest.generation)
        s.seenGeneration = s.manifest.generation
        s.seenCounter = processLock.publish(segment: log.number, end: s.appliedEnd)
    }

    /// A failed append: cut the partial record off. ENOSPC with a clean cut leaves the handle
    /// usable; anything else makes it fail-stop.
    private func failedAppend(_ error: SystemError, log: ActiveLog, start: UInt64) throws(LogbookError) -> Never {
        let cut = (try? files.truncate(log.fd, to: start)) != nil
        let cause = LogbookError(error, path: log.path)
        if cut && error.errno == SystemError.enospc {
            processLock.beginAppend(end: start)
            throw LogbookError(
                .io, "commit failed, nothing written: \(cause.message); free space and retry", path: log.path,
                errno: error.errno)
        }
        state.withLock { s in s.lifecycle = .failed(cause) }
        throw LogbookError(
            .storeFailed, "commit failed: \(cause.message); this handle now refuses writes, reopen the store",
            path: log.path, errno: error.errno)
    }

    /// A failed sync: the record's durability is unknown and Linux may have dropped the dirty
    /// pages, so never retry. Remove the record from the visible log and fail-stop.
    private func failedSync(_ error: SystemError, log: ActiveLog, start: UInt64) throws(LogbookError) -> Never {
        _ = try? files.truncate(log.fd, to: start)
        processLock.beginAppend(end: start)
        let cause = LogbookError(error, path: log.path)
        state.withLock { s in s.lifecycle = .failed(cause) }
        throw LogbookError(
            .storeFailed,
            "commit not acknowledged: \(cause.message); this handle now refuses writes, reopen the store",
            path: log.path, errno: error.errno)
    }
}
