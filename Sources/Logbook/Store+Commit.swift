// The commit protocol. Lock order: this handle's writer mutex, then the cross-process LOCK,
// then (briefly) the state mutex. See Docs/Concurrency.md.

extension Store {
    /// Commits the mutations `prepare` computes from the latest state, as one log record.
    ///
    /// Under the cross-process lock: catch up on records other processes appended (truncating a
    /// torn tail a crashed writer left), run `prepare` (validation), append one record with one
    /// write, sync per the durability mode, apply it, publish it, release.
    /// `prepare` returns no mutations to write nothing.
    func commit<R>(_ prepare: (KeyMap) throws(LogbookError) -> (mutations: [Mutation], result: R))
        throws(LogbookError) -> R
    {
        try writer.withLock { (_) throws(LogbookError) -> R in
            try state.withLock { (s) throws(LogbookError) in try Self.checkWritable(s, path: path) }
            try processLock.acquire(timeout: options.lockTimeout, program: options.programName)
            defer { processLock.release() }

            let (start, applied, record, result) = try state.withLock {
                (s) throws(LogbookError) -> (UInt64, LogRecord, [UInt8]?, R) in
                try Self.checkWritable(s, path: path)
                try catchUpUnderLock(&s)
                let (mutations, result) = try prepare(s.map)
                let applied = LogRecord(sequence: s.lastSequence + 1, mutations: mutations)
                guard !mutations.isEmpty else { return (0, applied, nil, result) }
                let bytes = LogFormat.encode(applied)
                // Writers enforce the documented limit; readers accept up to `maxPayload` (slack).
                let payload = bytes.count - LogFormat.recordHeaderSize
                guard payload <= Limits.maxTransactionSize else {
                    throw LogbookError.invalid(
                        "transaction is \(payload) bytes; the limit is \(Limits.maxTransactionSize)")
                }
                return (s.appliedEnd, applied, bytes, result)
            }
            guard let record else { return result }
            let end = start + UInt64(record.count)

            processLock.beginAppend(end: end)
            do throws(SystemError) {
                try files.writeAll(logFD, record, at: start, path: logPath)
            } catch {
                try failedAppend(error, start: start)
            }
            if options.durability != .relaxed {
                do throws(SystemError) { try files.sync(logFD, dataOnly: options.durability == .normal) } catch {
                    try failedSync(error, start: start)
                }
            }
            state.withLock { s in
                s.map.apply(applied)
                s.appliedEnd = end
                s.fileEnd = end
                s.lastSequence = applied.sequence
                s.commits += 1
                if options.durability != .relaxed { s.syncs += 1 }
                s.seenCounter = processLock.publish(segment: segment, end: end)
            }
            return result
        }
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

    /// Under the writer lock: makes the map reflect every record in the log. Fast path (no
    /// syscall) when the shared page shows no append since ours and no writer died mid-append.
    private func catchUpUnderLock(_ s: inout StoreState) throws(LogbookError) {
        let published = processLock.publishedEnd
        if processLock.pendingEnd == published && published == s.appliedEnd && s.fileEnd == s.appliedEnd
            && processLock.segment == segment
        {
            return
        }
        let size = try io(logPath) { () throws(SystemError) in try files.size(logFD) }
        guard size >= s.appliedEnd else {
            throw LogbookError.corrupted(
                "log is \(size) bytes, shorter than the \(s.appliedEnd) bytes already read", path: logPath, offset: size)
        }
        try Self.catchUp(&s, files: files, fd: logFD, logPath: logPath, limit: size)
        if s.appliedEnd < size {
            // A torn tail: the remains of a writer that died mid-append. Cut it off.
            try io(logPath) { () throws(SystemError) in try files.truncate(logFD, to: s.appliedEnd) }
        }
        s.fileEnd = s.appliedEnd
        s.seenCounter = processLock.publish(segment: segment, end: s.appliedEnd)
    }

    /// A failed append: cut the partial record off. ENOSPC with a clean cut leaves the handle
    /// usable; anything else makes it fail-stop.
    private func failedAppend(_ error: SystemError, start: UInt64) throws(LogbookError) -> Never {
        let cut = (try? files.truncate(logFD, to: start)) != nil
        let cause = LogbookError(error, path: logPath)
        if cut && error.errno == SystemError.enospc {
            processLock.beginAppend(end: start)
            throw LogbookError(
                .io, "commit failed, nothing written: \(cause.message); free space and retry", path: logPath,
                errno: error.errno)
        }
        state.withLock { s in s.lifecycle = .failed(cause) }
        throw LogbookError(
            .storeFailed, "commit failed: \(cause.message); this handle now refuses writes, reopen the store",
            path: logPath, errno: error.errno)
    }

    /// A failed sync: the record's durability is unknown and Linux may have dropped the dirty
    /// pages, so never retry. Remove the record from the visible log and fail-stop.
    private func failedSync(_ error: SystemError, start: UInt64) throws(LogbookError) -> Never {
        _ = try? files.truncate(logFD, to: start)
        processLock.beginAppend(end: start)
        let cause = LogbookError(error, path: logPath)
        state.withLock { s in s.lifecycle = .failed(cause) }
        throw LogbookError(
            .storeFailed,
            "commit not acknowledged: \(cause.message); this handle now refuses writes, reopen the store",
            path: logPath, errno: error.errno)
    }
}
