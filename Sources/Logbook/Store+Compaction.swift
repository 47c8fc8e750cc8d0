// Compaction: fold the log into a new snapshot and index, replace them atomically, let every
// process carry on. See Docs/Format.md ("Compaction").

import CLogbookShims

/// What one compaction did.
public struct CompactionReport: Sendable, Equatable {
    /// The new snapshot's number.
    public var snapshot: UInt64
    /// Every commit up to this sequence number is in the snapshot.
    public var sequence: UInt64
    /// Live keys written to the snapshot.
    public var keys: UInt64
    /// Bytes of the store's files (snapshot, index, log segments) before and after.
    public var bytesBefore: UInt64
    public var bytesAfter: UInt64
    public var seconds: Double
    /// When it finished, ns since the Unix epoch.
    public var finishedAt: UInt64
}

extension Store {
    /// Folds everything committed so far into a new snapshot and index, and starts a new log.
    ///
    /// Online: the writer lock is held only to seal the log (a new segment takes the appends)
    /// and to install the result; the merge runs without it, so writers and readers in every
    /// process keep going. Only one process compacts at a time (the compaction lock, waited for
    /// up to `lockTimeout`). Every new file is written under a temporary name, synced, renamed
    /// and its directory synced before the MANIFEST that names it is replaced the same way; old
    /// files are deleted only after that. A crash at any step leaves the old or the new state;
    /// leftovers are removed by the next open or compaction. In `paranoid` mode the new snapshot
    /// is read back and verified before it is installed.
    /// - Throws: `lockTimeout`, `io`, `corrupted`, `storeFailed`, `closed`.
    /// - Parameter progress: called now and then during the merge with the fraction done (0...1).
    @discardableResult
    public func compact(progress: ((Double) -> Void)? = nil) throws -> CompactionReport {
        try compacting.withLock { (count) throws(LogbookError) -> CompactionReport in
            try state.withLock { (s) throws(LogbookError) in try Self.checkWritable(s, path: path) }
            _ = try processLock.acquireCompaction(timeout: options.lockTimeout)
            defer { processLock.releaseCompaction() }
            count += 1
            // The frozen memtable was freed at the install: give the heap pages it leaves whole
            // back (commits made during the merge grew the heap past it; 1-2 MiB less at the
            // rss workload's peak, a few ms here).
            defer { lb_trim_heap() }
            return try compactHoldingLock(progress: progress)
        }
    }

    /// Compacts when the log has outgrown the threshold and nobody else is compacting: on the
    /// handle's compactor thread (`StoreOptions.compactInBackground`), else right here.
    func compactIfDue() {
        guard options.autoCompactLogBytes != nil, compactionHint.load(ordering: .relaxed) else { return }
        guard isCompactionDue() else {
            compactionHint.store(false, ordering: .relaxed)  // the next install past the threshold sets it
            return
        }
        if options.compactInBackground, let compactor = startedCompactor() {
            compactor.request()
        } else {
            compactNowIfDue()
        }
    }

    /// Whether the log has outgrown the automatic compaction threshold (and the snapshot's share).
    private func isCompactionDue() -> Bool {
        guard let threshold = options.autoCompactLogBytes else { return false }
        let divisor = options.autoCompactSnapshotDivisor
        return state.withLock { s -> Bool in
            guard case .open = s.lifecycle else { return false }
            let logBytes = s.sealedLogBytes + s.appliedEnd
            let snapshotBytes = s.view.snapshot?.index.dataSize ?? 0
            return logBytes >= threshold && (divisor == 0 || logBytes > snapshotBytes / divisor)
        }
    }

    /// The handle's compactor thread, started if it was not; nil once the handle is closing, or
    /// when no thread can be started.
    private func startedCompactor() -> Compactor? {
        compactor.withLock { slot in
            if slot.closed { return nil }
            if slot.running == nil { slot.running = Compactor.start { [self] in compactNowIfDue() } }
            return slot.running
        }
    }

    /// Compacts unless it is no longer due or this handle is compacting already; a failure is
    /// kept for `stats()` (nobody waits on an automatic compaction to hear of it).
    private func compactNowIfDue() {
        _ = compacting.withLockIfAvailable { count in  // busy: this handle is compacting already
            guard isCompactionDue(), (try? processLock.acquireCompaction(timeout: nil)) == true else { return }
            defer { processLock.releaseCompaction() }
            count += 1
            do throws(LogbookError) { _ = try compactHoldingLock(progress: nil) } catch {
                state.withLock { s in s.lastCompactionError = error }
            }
            lb_trim_heap()  // see `compact`
        }
    }

    private func compactHoldingLock(progress: ((Double) -> Void)?) throws(LogbookError) -> CompactionReport {
        let started = System.monotonicNanoseconds()
        let context = context
        if let current = try? Self.readManifest(context) { Self.removeLeftovers(context, manifest: current) }

        // 1. Seal: under the writer lock, start a new log segment; freeze the memtable to fold
        // (commits go on into a new one above it, and leave it alone).
        let (folded, frozen, sequence, sealed, bytesBefore) = try underWriterLock { (s) throws(LogbookError) in
            let before = try diskBytes(s.manifest)
            let old = s.manifest
            guard let log = s.log else { throw LogbookError(.closed, "the store at \(path) is closed") }
            // A sealed segment ends at its last record: zeros allocated ahead go (see `LogFormat`;
            // whatever this handle knows, another may have allocated them). The sync below makes
            // the size durable before any MANIFEST names a later segment.
            try io(log.path) { () throws(SystemError) in try cutLog(log.fd, to: s.appliedEnd) }
            // The sealed segment must be durable before any later one can be: sync it in every mode.
            // A failed sync is never retried (the kernel may have dropped the pages): fail-stop.
            do throws(SystemError) { try files.sync(log.fd, dataOnly: false) } catch {
                throw Self.failStop(&s, LogbookError(error, path: log.path), "compaction could not sync the log")
            }
            let next = old.lastLog + 1
            let fd = try Self.createSegment(next, context, sync: true)
            let sealed = Manifest(
                generation: old.generation + 1, snapshot: old.snapshot, snapshotSequence: old.snapshotSequence,
                firstLog: old.firstLog, lastLog: next)
            do throws(LogbookError) { try installManifest(sealed, &s) } catch {
                files.close(fd)
                throw error
            }
            s.reads.publish(nil)
            let folded = s.view.freeze()
            s.log = ActiveLog(number: next, fd: fd, path: context.logPath(next), files: files)
            s.sealedLogBytes += s.appliedEnd
            s.appliedEnd = UInt64(LogFormat.segmentHeaderSize)
            s.fileEnd = s.appliedEnd
            s.allocatedEnd = s.appliedEnd
            s.manifest = sealed
            s.seenGeneration = sealed.generation
            s.seenCounter = processLock.publish(segment: next, end: s.appliedEnd, durable: true)  // no records yet
            return (folded, s.view.frozen!, s.lastSequence, sealed, before)
        }
        do throws(LogbookError) {
            return try merge(
                folded, frozen, sequence: sequence, sealed: sealed, bytesBefore: bytesBefore,
                started: started, progress: progress)
        } catch {
            // Nothing installed: the commits since the seal go back on top of what was frozen.
            state.withLock { s in
                if s.view.frozen === frozen {
                    s.reads.publish(nil)
                    s.view.thaw()
                }
            }
            throw error
        }
    }

    /// Steps 2 to 4 of `compactHoldingLock`, after the seal froze `frozen` in the state's view
    /// (`folded`: it over the snapshot).
    private func merge(
        _ folded: View, _ frozen: View.Frozen, sequence: UInt64, sealed: Manifest, bytesBefore: UInt64,
        started: UInt64, progress: ((Double) -> Void)?
    ) throws(LogbookError) -> CompactionReport {
        let context = context

        // 2. Merge, with no lock but the compaction lock: the frozen view into a new snapshot.
        let number = sealed.snapshot + 1
        var writer = try SnapshotWriter(files: files, directory: path, number: number, sync: true)
        let estimate = max(1, Double(folded.memtable.count) + Double(folded.snapshot?.index.keyCount ?? 0))
        let reader: SnapshotReader
        do throws(LogbookError) {
            try folded.forEachInPlace { (key, value, sequence) throws(LogbookError) in
                try writer.add(key, value, sequence: sequence)
                if let progress, writer.keyCount % 16384 == 0 { progress(min(1, Double(writer.keyCount) / estimate)) }
                return true
            }
            let index = try writer.finish()
            let (data, indexFile) = (
                path + "/" + SnapshotFormat.dataName(number), path + "/" + SnapshotFormat.indexName(number)
            )
            try io(path) { () throws(SystemError) in
                try files.rename(writer.dataPath, data)
                try files.rename(writer.indexPath, indexFile)
                try files.syncDirectory(path)
            }
            reader = try SnapshotReader(
                files: files, directory: path, number: number, sequence: sequence, cacheBytes: options.cacheBytes,
                cacheTimeToLive: options.cacheTimeToLive, paranoid: options.durability == .paranoid)
            if options.durability == .paranoid {
                var keys: UInt64 = 0
                for block in 0..<reader.blockCount { keys += UInt64(try reader.readBlock(block).count) }
                guard keys == index.keyCount else {
                    throw LogbookError.corrupted(
                        "new snapshot reads back \(keys) keys, not \(index.keyCount)", path: data, offset: 0)
                }
            }
        } catch {
            writer.discard()
            try? files.unlink(path + "/" + SnapshotFormat.dataName(number))
            try? files.unlink(path + "/" + SnapshotFormat.indexName(number))
            throw error
        }

        // 3. Install: under the writer lock, the MANIFEST names the new snapshot and the new log only.
        let (installed, bytesAfter) = try underWriterLock { (s) throws(LogbookError) in
            guard s.manifest.generation == sealed.generation else {
                throw LogbookError(
                    .io, "the MANIFEST changed during compaction; nothing installed", path: context.manifestPath)
            }
            let installed = Manifest(
                generation: sealed.generation + 1, snapshot: number, snapshotSequence: sequence,
                firstLog: sealed.lastLog, lastLog: sealed.lastLog)
            try installManifest(installed, &s)
            if s.view.frozen === frozen {
                // The new snapshot holds what was frozen; the commits since the seal stay above it.
                s.reads.publish(nil)
                s.view.replaceSnapshot(reader)
                s.manifest = installed
                s.seenGeneration = installed.generation
                s.sealedLogBytes = 0
            } else {
                try Self.load(&s, context)  // the view was read again from the files meanwhile
            }
            s.seenCounter = processLock.publish(segment: installed.lastLog, end: s.appliedEnd, durable: false)
            return (installed, try diskBytes(installed))
        }

        // 4. Only now that the new MANIFEST is durable: delete what it no longer names.
        if sealed.snapshot > 0 {
            try? files.unlink(path + "/" + SnapshotFormat.dataName(sealed.snapshot))
            try? files.unlink(path + "/" + SnapshotFormat.indexName(sealed.snapshot))
        }
        for log in sealed.firstLog..<installed.firstLog { try? files.unlink(context.logPath(log)) }
        if options.durability != .relaxed { try? files.syncDirectory(path) }

        let report = CompactionReport(
            snapshot: number, sequence: sequence, keys: writer.keyCount, bytesBefore: bytesBefore,
            bytesAfter: bytesAfter, seconds: Double(System.monotonicNanoseconds() - started) / 1e9,
            finishedAt: System.wallClockNanoseconds())
        state.withLock { s in
            s.lastCompaction = report
            s.lastCompactionError = nil
        }
        return report
    }

    /// Runs `body` on the state with the leader mutex and the writer lock held, caught up.
    private func underWriterLock<T>(_ body: (inout StoreState) throws(LogbookError) -> T) throws(LogbookError) -> T {
        try writer.withLock { (_) throws(LogbookError) -> T in
            try state.withLock { (s) throws(LogbookError) in try Self.checkWritable(s, path: path) }
            try processLock.acquire(timeout: options.lockTimeout, program: options.programName)
            defer { processLock.release() }
            return try state.withLock { (s) throws(LogbookError) -> T in
                try Self.checkWritable(s, path: path)
                try catchUpUnderLock(&s)
                return try body(&s)
            }
        }
    }

    /// Replaces the MANIFEST atomically (under the writer lock): MANIFEST.tmp written, synced,
    /// renamed, the directory synced; then the new generation is announced. While it is in
    /// flight the pending end is set so that any writer re-reads the MANIFEST from disk, even if
    /// this process dies before announcing; that writer also syncs the directory first (see
    /// `catchUpUnderLock`), since the rename may not be durable yet.
    ///
    /// A failure before the rename leaves the MANIFEST as it was. A failed directory sync after
    /// it leaves a MANIFEST that every process sees but that a power cut may undo: this handle
    /// becomes fail-stop (it never retries a failed sync), and the next writer syncs the directory.
    private func installManifest(_ manifest: Manifest, _ s: inout StoreState) throws(LogbookError) {
        let context = context
        let temporary = context.manifestPath + ".tmp"
        processLock.beginAppend(end: ProcessLock.manifestChanging)
        try io(temporary) { () throws(SystemError) in
            let fd = try files.open(temporary, .createReadWrite)
            defer { files.close(fd) }
            try files.truncate(fd, to: 0)
            try files.writeAll(fd, manifest.encode(), at: 0, path: temporary)
            try files.sync(fd, dataOnly: false)
            try files.rename(temporary, context.manifestPath)
        }
        do throws(SystemError) { try files.syncDirectory(context.directory) } catch {
            throw Self.failStop(
                &s, LogbookError(error, path: context.directory), "the new MANIFEST may not be durable")
        }
        processLock.announce(generation: manifest.generation)
    }

    /// Makes the handle fail-stop after a failed sync; returns the `storeFailed` error to throw.
    static func failStop(_ s: inout StoreState, _ cause: LogbookError, _ what: String) -> LogbookError {
        s.lifecycle = .failed(cause)
        return LogbookError(
            .storeFailed, "\(what): \(cause.message); this handle now refuses writes, reopen the store",
            path: cause.path, errno: cause.errno)
    }

    /// Bytes of the files `manifest` names.
    func diskBytes(_ manifest: Manifest) throws(LogbookError) -> UInt64 {
        var names: [String] = []
        if manifest.snapshot > 0 {
            names += [SnapshotFormat.dataName(manifest.snapshot), SnapshotFormat.indexName(manifest.snapshot)]
        }
        for log in manifest.firstLog...manifest.lastLog { names.append(LogFormat.segmentName(log)) }
        var total: UInt64 = 0
        for name in names {
            let file = path + "/" + name
            guard let fd = try? files.open(file, .readOnly) else { continue }
            defer { files.close(fd) }
            total += (try? files.size(fd)) ?? 0
        }
        return total
    }
}
