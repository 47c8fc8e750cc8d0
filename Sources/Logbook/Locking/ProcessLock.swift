import CLogbookShims

/// The `LOCK` file: a cross-process writer lock, and one page of memory shared by every process
/// that has the store open.
///
/// The locks are open-file-description locks (F_OFD_SETLK), so the kernel releases them when
/// their holder dies: a crashed process never blocks the others. Byte 0 is the writer lock,
/// byte 1 the compaction lock (always taken before the writer lock, never after), byte 2 the
/// sync turn (taken without the other two, see `takeSyncTurn`). The first 4096 bytes are
/// mapped shared:
///
///      0   8  magic "LOGBKLCK"
///      8   8  commit counter: bumped after every commit is published (readers poll it, no syscall)
///     16   8  published log end: offset after the last acknowledged record; readers read up to
///             it. Everything before it is durable, unless a `relaxed` writer published it (168).
///     24   8  pending log end: set before a writer appends; differs from the appended end only
///             while an append is in flight, or after its writer died mid-commit
///     32   8  segment number of the log the ends refer to
///     40   8  holder pid (0 when free)
///     48   8  holder since, ns since the Unix epoch
///     56   8  acquisitions (bumped on every acquire)
///     64  64  holder program name, NUL-padded
///    128   8  MANIFEST generation: set after every MANIFEST replacement (readers poll it)
///    136   8  waiter heartbeat: CLOCK_MONOTONIC ns of a waiting writer's latest attempt
///    144   8  that waiter's pid
///    152   8  appended log end: offset after the last whole record written. A writer in
///             `normal` or `paranoid` mode sets it and releases the lock before it syncs, so
///             the next writer can append while it syncs; records between the published and
///             the appended end are written but maybe not yet durable: the next writer builds
///             on them, readers do not see them until a sync covers them and they are published.
///    160   4  release counter: bumped by a writer that releases the lock while a waiter's
///             heartbeat is fresh; waiters sleep on it (futex) between attempts, so a release
///             wakes them at once instead of when their back-off runs out
///    164   4  sync turns ended: bumped by a writer that gives the sync turn back; writers
///             waiting for the turn sleep on it (futex)
///    168   8  durable log end: offset before which a sync made the log durable, in the low 44
///             bits, under the low 20 bits of its segment's number (so that a sync of a sealed
///             segment that raises it late, after a seal moved on, cannot claim the new one).
///             Behind the published end when a `relaxed` writer published records no sync
///             covers (with the records before them, which a `normal` writer may still be about
///             to sync: only this word tells it whether a sync covered them)
///    176   8  sync turn sleepers: writers asleep on word 164 now (so that giving the turn back
///             wakes no one, without a system call, when no one waits; a sleeper killed in its
///             sleep leaves it one too high, which costs only needless wake-ups)
///    256  80  compaction lock holder: pid (0 when free), since (ns since the Unix epoch),
///             program name (64 bytes, NUL-padded)
///    336  80  sync turn holder, the same way
///
/// The low 32 bits of the acquisition count (56) are a futex word too: a writer stepping aside
/// for a waiter sleeps on it, and a waiter that got the lock after waiting wakes it.
///
/// The page is a hint and a notice board, never the truth: after a power loss it may hold
/// anything, and every reader treats it as such (a changed counter means "look at the log").
final class ProcessLock: @unchecked Sendable {
    static let fileName = "LOCK"
    static let pageSize = 4096
    static let writerByte: Int64 = 0
    static let compactionByte: Int64 = 1
    static let syncByte: Int64 = 2
    /// The pending end while a MANIFEST replacement is in flight: forces every writer to re-read it.
    static let manifestChanging = UInt64.max
    static let magic = UInt64(littleEndian: Array("LOGBKLCK".utf8).withUnsafeBytes { $0.load(as: UInt64.self) })

    let path: String
    private let files: any FileLayer
    private let fd: Int32
    private let page: UnsafeMutableRawPointer
    /// How deeply this handle holds the writer lock. Touched only by the thread that holds the
    /// handle's (recursive) leader mutex, so a commit nested in a pessimistic transaction does
    /// not release the lock under it.
    private var depth = 0
    /// When this handle last released the writer lock (monotonic ns); same access rule as `depth`.
    private var lastRelease: UInt64 = 0
    /// When this handle last took the writer lock (monotonic ns), which `release(keepIdle:)`
    /// takes for the time of the release: a commit is short, and a clock reading is 1% of one.
    /// Same access rule as `depth`.
    private var acquiredAt: UInt64 = 0
    /// Whether this handle keeps the writer lock between commits now (see `release(keepIdle:)`);
    /// same access rule as `depth`.
    private(set) var kept = false
    /// Set by `close`: the page is unmapped and the file closed, `acquire` refuses. Same access
    /// rule as `depth` (the store closes under the leader mutex).
    private var closed = false
    /// Set when `acquire` finds the file deleted (or renamed over) since it was opened: a
    /// process that opens the store now gets another `LOCK`, and the two files' locks exclude
    /// nothing of each other. From then on `acquire` refuses. Same access rule as `depth`.
    private var lost = false
    /// When `giveBackIfLost` last looked (monotonic ns); same access rule as `depth`.
    private var lastNameCheck: UInt64 = 0
    /// State of the back-off jitter (SplitMix64; a system random number per wait would be a
    /// system call); same access rule as `depth`.
    private var jitterState = System.monotonicNanoseconds()
    /// The holder record (pid and since words) of a sync turn this handle gave up waiting for:
    /// while that same holder keeps the turn (it is stopped, or stuck in its sync), later syncs
    /// do not wait for it again. Same access rule as `depth` (syncs run under the leader mutex).
    private var stuckTurn: (pid: UInt64, since: UInt64)? = nil
    /// The holder name as written to the page, built once; same access rule as `depth`.
    private var holderName: (program: String, bytes: [UInt8])?
    /// This process's pid as a shared-page word.
    private let pid = UInt64(UInt32(bitPattern: System.processID))
    /// The program name as the holder records of the compaction lock and the sync turn take it.
    private let programName: [UInt8]

    /// A waiter's heartbeat younger than this means someone is waiting for the lock now.
    static let waiterFreshness: UInt64 = 2_000_000
    /// How long a writer that just released the lock pauses before taking it again while someone
    /// waits: longer than a waiter's longest pause between attempts, so the waiter gets it.
    static let handOffPause: UInt64 = 350_000
    /// A waiter's longest pause between attempts.
    static let maxBackoff: UInt64 = 200_000
    /// A writer that commits again within this time of its last commit keeps the lock between
    /// commits; a kept lock goes back once the handle has been idle this long (`LockKeeper`).
    static let idleRelease: UInt64 = 1_000_000

    /// Opens (creating if needed) the `LOCK` file of the store in `directory`; `program` names
    /// this handle in the holder records of the compaction lock and the sync turn.
    init(
        directory: String, files: any FileLayer, program: String = System.programName,
        nameCheckInterval: UInt64 = 100_000_000
    ) throws(LogbookError) {
        let path = directory + "/" + Self.fileName
        self.path = path
        self.nameCheckInterval = nameCheckInterval
        self.files = files
        let name = Array(program.utf8.prefix(63))
        programName = name + [UInt8](repeating: 0, count: 64 - name.count)
        fd = try io(path) { () throws(SystemError) in try files.open(path, .createReadWrite) }
        do {
            if try files.size(fd) < UInt64(Self.pageSize) {
                try files.truncate(fd, to: UInt64(Self.pageSize))  // grows only; racing openers agree
            }
            page = try files.mapShared(fd, length: Self.pageSize)
        } catch {
            files.close(fd)
            throw LogbookError(error, path: path)
        }
    }

    func close() {
        closed = true
        releaseKept()
        files.unmap(page, length: Self.pageSize)
        files.close(fd)
    }

    // MARK: shared words

    private func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (page + offset).assumingMemoryBound(to: UInt64.self)
    }

    var commitCounter: UInt64 { lb_atomic_load_u64(word(8)) }
    var publishedEnd: UInt64 { lb_atomic_load_u64(word(16)) }
    var pendingEnd: UInt64 { lb_atomic_load_u64(word(24)) }
    var segment: UInt64 { lb_atomic_load_u64(word(32)) }
    var appendedEnd: UInt64 { lb_atomic_load_u64(word(152)) }

    var manifestGeneration: UInt64 { lb_atomic_load_u64(word(128)) }

    /// Announces a new MANIFEST generation (under the writer lock, once the MANIFEST is durable).
    func announce(generation: UInt64) { lb_atomic_store_u64(word(128), generation) }

    /// Changes whenever a log segment may have become shorter (word 184). Writers that copy
    /// their appends into a mapping of the log (`LogMapping`) read the file's size again when
    /// it changed: writing a page past the end of the file would kill them (SIGBUS), or lose the
    /// bytes after the end within its last page.
    var logCuts: UInt64 { lb_atomic_load_u64(word(184)) }

    /// Called under the writer lock before a log segment is cut shorter (see `logCuts`).
    func noteCut() { _ = lb_atomic_fetch_add_u64(word(184), 1) }

    /// Announces an append that will end at `end` (called under the writer lock).
    func beginAppend(end: UInt64) { lb_atomic_store_u64(word(24), end) }

    /// Publishes the log end (under the writer lock): everything up to `end` is written, and
    /// `durable` when a sync covers all of it. Bumps the commit counter. The durable end never
    /// passes the published one (a page left from before a power cut may claim anything).
    func publish(segment: UInt64, end: UInt64, durable: Bool) -> UInt64 {
        let known = durableEnd(segment: segment)
        let newDurable = durable ? end : min(known, end)
        // The durable end tells a waiting writer that its commit is done: it goes down first and
        // up only once the end is published and the counter bumped, so that a read that starts
        // after such a commit returned sees it.
        lb_atomic_store_u64(word(168), Self.durableWord(segment: segment, end: min(known, newDurable)))
        lb_atomic_store_u64(word(32), segment)
        lb_atomic_store_u64(word(24), end)
        lb_atomic_store_u64(word(152), end)
        lb_atomic_store_u64(word(16), end)
        let counter = lb_atomic_fetch_add_u64(word(8), 1) &+ 1
        lb_atomic_store_u64(word(168), Self.durableWord(segment: segment, end: newDurable))
        return counter
    }

    /// Records that an append ending at `end` is whole (under the writer lock, before the lock
    /// is released and the record synced).
    func appended(end: UInt64) { lb_atomic_store_u64(word(152), end) }

    /// Publishes `end` after a sync made everything before it durable; called without the lock,
    /// so it only ever raises the published end, and only while `segment` is still the active one.
    func publishDurable(segment: UInt64, end: UInt64) {
        guard lb_atomic_load_u64(word(32)) == segment else { return }
        _ = lb_atomic_max_u64(word(16), end)
        _ = lb_atomic_fetch_add_u64(word(8), 1)
        // Last (see `publish`), and only while the word is still `segment`'s: a seal may have
        // moved on since the check above (the published end is only a hint; this one is not).
        lb_atomic_max_tagged_u64(
            word(168), Self.durableWord(segment: segment, end: end), UInt32(Self.durableOffsetBits))
    }

    /// The durable end (see the page layout) of `segment`: 0 unless the word is that segment's.
    func durableEnd(segment: UInt64) -> UInt64 {
        let word = lb_atomic_load_u64(word(168))
        guard word >> Self.durableOffsetBits == segment & Self.durableSegmentMask else { return 0 }
        return word & Self.durableOffsetMask
    }

    /// Whether a sync made `end` of `segment` durable already (someone's sync covered it).
    func isDurable(segment: UInt64, end: UInt64) -> Bool {
        lb_atomic_load_u64(word(32)) == segment && durableEnd(segment: segment) >= end
    }

    /// The durable end word: `end` (at most 16 TiB: a sync claims no more) under `segment`'s tag.
    static func durableWord(segment: UInt64, end: UInt64) -> UInt64 {
        (segment & durableSegmentMask) << durableOffsetBits | min(end, durableOffsetMask)
    }

    static let durableOffsetBits: UInt64 = 44
    static let durableOffsetMask: UInt64 = (1 << durableOffsetBits) - 1
    static let durableSegmentMask: UInt64 = (1 << (64 - durableOffsetBits)) - 1

    // MARK: the sync turn

    /// How a writer in `normal` or `paranoid` mode gets its appended records synced.
    enum SyncTurn {
        /// Someone's sync covered them already: nothing to do.
        case covered
        /// This handle holds the sync turn: it syncs, and its sync covers every record appended
        /// whole before it starts (`syncedThrough`); then `endSyncTurn`.
        case mine
        /// The turn's holder did not give it back within the patience (it is stopped, or its
        /// disk is that slow): sync without the turn, covering only what this writer appended.
        case alone
    }

    /// Waits for the sync turn, one writer's sync at a time across every process, so that the
    /// writers who append during a sync are covered together by the next one, instead of each
    /// making a sync of its own. Returns `.covered` as soon as a sync made `end` of `segment`
    /// durable, `.mine` with the turn taken, or `.alone` after `patience` ns without the turn.
    /// A dead holder's turn is free at once (the kernel drops its lock); its waiters find that
    /// within `syncTurnPoll`. A holder waited for in vain is not waited for again while it keeps
    /// the turn (`stuckTurn`). Called without the writer lock, under the handle's leader mutex.
    func takeSyncTurn(segment: UInt64, end: UInt64, patience: UInt64) -> SyncTurn {
        var deadline: UInt64? = nil
        while true {
            if isDurable(segment: segment, end: end) { return .covered }
            let ended = lb_atomic_load_u32(syncTurnsEnded)
            // A failing lock call (never seen: the file is open) cannot share a sync: sync alone.
            guard let got = try? files.tryLock(fd, byte: Self.syncByte) else { return .alone }
            if got {
                guard isDurable(segment: segment, end: end) else {
                    recordHolder(at: Self.syncTurnHolder)
                    return .mine
                }
                files.unlock(fd, byte: Self.syncByte)  // covered while the turn was being taken
                wakeSyncTurnSleepers()
                return .covered
            }
            let holder = (
                pid: lb_atomic_load_u64(word(Self.syncTurnHolder)),
                since: lb_atomic_load_u64(word(Self.syncTurnHolder + 8))
            )
            if let stuck = stuckTurn {
                if stuck == holder { return .alone }
                stuckTurn = nil  // that holder is gone: wait for the turn again
            }
            let now = System.monotonicNanoseconds()
            if deadline == nil { deadline = now &+ patience }
            guard now < deadline! else {
                // Waited its patience for this holder (a caller that may not wait, 0, did not).
                if holder.pid != 0 && patience > 0 { stuckTurn = holder }
                return .alone
            }
            // Counted before the sleep: a holder that gives the turn back after this sees the
            // count and wakes us; one that gave it back before changed the word, and the sleep
            // returns at once.
            _ = lb_atomic_fetch_add_u64(word(176), 1)
            lb_futex_wait(syncTurnsEnded, ended, min(Self.syncTurnPoll, deadline! - now))
            _ = lb_atomic_fetch_add_u64(word(176), UInt64.max)
        }
    }

    /// The end a sync that starts now covers, as `publishDurable` takes it: every record appended
    /// whole to `segment` so far (the appended end; a writer raises it only once its write
    /// returned), and at least `end` (the holder's own). Only the sync turn's holder may claim
    /// others' records: a writer cuts its record after a failed sync only while it holds the
    /// turn, so none is cut between this reading and the holder's publication.
    func syncedThrough(segment: UInt64, end: UInt64) -> UInt64 {
        guard lb_atomic_load_u64(word(32)) == segment else { return end }
        let appended = lb_atomic_load_u64(word(152))
        guard lb_atomic_load_u64(word(32)) == segment else { return end }
        return max(appended, end)
    }

    /// Gives the sync turn back and wakes the writers waiting for it.
    func endSyncTurn() {
        lb_atomic_store_u64(word(Self.syncTurnHolder), 0)  // before the unlock: never a next holder's
        files.unlock(fd, byte: Self.syncByte)
        wakeSyncTurnSleepers()
    }

    private func wakeSyncTurnSleepers() {
        lb_atomic_increment_u32(syncTurnsEnded)
        // The bump before the count is read (a sleeper counts itself, then the kernel reads the
        // word: either it sees the bump and does not sleep, or this sees its count and wakes it).
        lb_atomic_fence()
        if lb_atomic_load_u64(word(176)) != 0 { lb_futex_wake(syncTurnsEnded, .max) }
    }

    /// The recorded holder of the sync turn, if one is recorded.
    func syncTurnHolderInfo() -> HolderInfo? { holder(at: Self.syncTurnHolder) }

    /// How long a writer waiting for the sync turn sleeps before it looks again when no one wakes
    /// it (the holder died: the kernel released its lock, but nobody bumped the counter).
    static let syncTurnPoll: UInt64 = 1_000_000

    /// Whether another open file description holds the sync turn now (it is syncing the log).
    func isSyncTurnHeldElsewhere() throws(LogbookError) -> Bool {
        try io(path) { () throws(SystemError) in try files.isLocked(fd, byte: Self.syncByte) }
    }

    private var syncTurnsEnded: UnsafeMutablePointer<UInt32> { (page + 164).assumingMemoryBound(to: UInt32.self) }

    // MARK: the writer lock

    /// Takes the writer lock, waiting with exponential back-off and jitter up to `timeout`
    /// seconds; the time-out error names the holder and whether it is alive.
    func acquire(timeout: Double, program: String) throws(LogbookError) {
        if closed {
            let store = String(path.dropLast(Self.fileName.count + 1))
            throw LogbookError(.closed, "the store at \(store) is closed")
        }
        if lost { throw lostError() }
        if depth > 0 {
            depth += 1
            return
        }
        let start = System.monotonicNanoseconds()
        acquiredAt = start
        if kept {
            kept = false
            if !waiterIsFresh(start) {
                // Still ours since the last commit: no system call, but now and then the check
                // of the file's name (see `lost`), so that a long run of commits notices too.
                if start &- lastNameCheck >= nameCheckInterval { try giveBackIfLost() }
                depth = 1
                return
            }
            unlock()  // someone waits: step aside (below) before taking it again
        }
        var backoff: UInt64 = 20_000  // ns
        let me = pid
        let deadline = start + Self.nanoseconds(timeout)
        // Hand-off: a writer that just released the lock and takes it again at once would starve a
        // process that polls for it. When another process is waiting, leave the lock free for at
        // least `handOffPause` (counted from the release: a sync done meanwhile counts) first.
        // The pause ends early when the waiter got the lock (it wakes us, see below).
        let sinceRelease = start &- lastRelease
        if sinceRelease < Self.handOffPause, lb_atomic_load_u64(word(144)) != me, waiterIsFresh(start) {
            lb_futex_wait(acquisitions, lb_atomic_load_u32(acquisitions), Self.handOffPause - sinceRelease)
        }
        var waited = false
        while true {
            let released = lb_atomic_load_u32(releases)
            var got = try io(path) { () throws(SystemError) in try files.tryLock(fd, byte: Self.writerByte) }
            if !got {
                // Announce the wait, then try once more: a release before the heartbeat was
                // visible woke nobody, but it left the lock free for this attempt.
                lb_atomic_store_u64(word(144), me)
                lb_atomic_store_u64(word(136), System.monotonicNanoseconds())
                got = try io(path) { () throws(SystemError) in try files.tryLock(fd, byte: Self.writerByte) }
                waited = true
            }
            if got {
                try giveBackIfLost()
                recordHolder(program: program)
                if waited {
                    if lb_atomic_load_u64(word(144)) == me { lb_atomic_store_u64(word(136), 0) }
                    lb_futex_wake(acquisitions, .max)  // a writer stepping aside for us may be waiting
                    acquiredAt = System.monotonicNanoseconds()
                }
                depth = 1
                return
            }
            let now = System.monotonicNanoseconds()
            if now >= deadline {
                let who = holder().map { "held by \($0.summary)" } ?? "held by another process"
                throw LogbookError(
                    .lockTimeout,
                    "writer lock on \(path) \(who); gave up after \(timeout) s (raise the lock time-out, or stop that process)",
                    path: path)
            }
            // Sleep until a release wakes us, or the back-off runs out (a holder that dies
            // releases nothing on the page: the kernel drops its lock, the back-off finds it).
            let jittered = jitter(backoff)
            lb_futex_wait(releases, released, min(jittered, deadline - now))
            backoff = min(backoff * 2, Self.maxBackoff)
        }
    }

    /// How often (ns) a lock kept between commits checks the file's name: a run of back-to-back
    /// `relaxed` commits never takes the lock again, and one system call per commit would
    /// double their cost. 100 ms; tests set it.
    let nameCheckInterval: UInt64

    /// Called with the writer lock just taken (or kept for another commit): gives it back and
    /// throws when the file has no name any more (see `lost`), so that no write follows.
    private func giveBackIfLost() throws(LogbookError) {
        lastNameCheck = System.monotonicNanoseconds()
        let links: UInt64
        do throws(SystemError) { links = try files.linkCount(fd) } catch {
            files.unlock(fd, byte: Self.writerByte)
            throw LogbookError(error, path: path)
        }
        guard links == 0 else { return }
        files.unlock(fd, byte: Self.writerByte)
        lost = true
        throw lostError()
    }

    private func lostError() -> LogbookError {
        let store = String(path.dropLast(Self.fileName.count + 1))
        return LogbookError(
            .storeFailed,
            "the LOCK file of \(store) was deleted or replaced while this handle had the store open: processes "
                + "that open it now lock another file, and would not wait for this one; this handle now refuses "
                + "writes, reopen the store", path: path)
    }

    /// `nanoseconds` scaled by a random factor in [0.5, 1.5).
    private func jitter(_ nanoseconds: UInt64) -> UInt64 {
        jitterState &+= 0x9E37_79B9_7F4A_7C15
        var z = jitterState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return nanoseconds / 2 + (nanoseconds >> 1) * (z >> 32) / (1 << 31)
    }

    /// The futex words (see the page layout).
    private var releases: UnsafeMutablePointer<UInt32> { (page + 160).assumingMemoryBound(to: UInt32.self) }
    private var acquisitions: UnsafeMutablePointer<UInt32> { (page + 56).assumingMemoryBound(to: UInt32.self) }

    /// Takes the compaction lock: waits up to `timeout` seconds, or returns false at once when
    /// `timeout` is nil and another process is compacting.
    func acquireCompaction(timeout: Double?) throws(LogbookError) -> Bool {
        let deadline = System.monotonicNanoseconds() + Self.nanoseconds(timeout ?? 0)
        var backoff: UInt64 = 1_000_000
        while true {
            let got = try io(path) { () throws(SystemError) in try files.tryLock(fd, byte: Self.compactionByte) }
            if got {
                recordHolder(at: Self.compactionHolder)
                return true
            }
            guard timeout != nil else { return false }
            let now = System.monotonicNanoseconds()
            if now >= deadline {
                let who = compactionHolderInfo().map { "held by \($0.summary)" } ?? "held by another process"
                throw LogbookError(
                    .lockTimeout,
                    "compaction lock on \(path) \(who); gave up after \(timeout!) s (a compaction, backup or repair "
                        + "runs there; raise the lock time-out, or wait for it)", path: path)
            }
            System.sleep(nanoseconds: min(UInt64(Double(backoff) * Double.random(in: 0.5...1.5)), deadline - now))
            backoff = min(backoff * 2, 50_000_000)
        }
    }

    func releaseCompaction() {
        lb_atomic_store_u64(word(Self.compactionHolder), 0)  // before the unlock: never a next holder's
        files.unlock(fd, byte: Self.compactionByte)
    }

    /// The recorded holder of the compaction lock, if one is recorded.
    func compactionHolderInfo() -> HolderInfo? { holder(at: Self.compactionHolder) }

    /// Where the holder records of the compaction lock and the sync turn start on the page: the
    /// pid word, the since word, then the 64-byte program name.
    private static let compactionHolder = 256
    private static let syncTurnHolder = 336

    /// Records this handle as the holder of the lock whose record starts at `base` (the pid
    /// last, so that a reader that sees it sees the rest).
    private func recordHolder(at base: Int) {
        lb_atomic_store_u64(word(base), 0)
        programName.withUnsafeBytes { (page + base + 16).copyMemory(from: $0.baseAddress!, byteCount: 64) }
        lb_atomic_store_u64(word(base + 8), System.wallClockNanoseconds())
        lb_atomic_store_u64(word(base), pid)
    }

    private func holder(at base: Int) -> HolderInfo? {
        HolderInfo.decode(
            pidWord: lb_atomic_load_u64(word(base)), since: lb_atomic_load_u64(word(base + 8)),
            name: UnsafeRawBufferPointer(start: page + base + 16, count: 64), isAlive: System.isAlive)
    }

    /// Whether another open file description holds the compaction lock now.
    func isCompactionHeldElsewhere() throws(LogbookError) -> Bool {
        try io(path) { () throws(SystemError) in try files.isLocked(fd, byte: Self.compactionByte) }
    }

    /// A time-out in seconds as nanoseconds, clamped to [0, 10^9 s] (NaN counts as 0).
    static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds > 0 else { return 0 }
        return UInt64(min(seconds, 1e9) * 1e9)
    }

    /// Releases the writer lock. With `keepIdle`, a writer in a run of commits (the previous one
    /// ended less than `idleRelease` ago) that sees no waiter keeps the lock instead, so that its
    /// next commit takes no system call; returns true then, and the caller must make sure the
    /// lock goes back when idle (`releaseIfIdle`, driven by a `LockKeeper`). With `keepIdle`
    /// the time the lock was taken stands for the time of the release (the callers keep it for
    /// short commits); a waiter that announced itself since counts as fresh.
    @discardableResult
    func release(keepIdle: Bool = false) -> Bool {
        depth -= 1
        guard depth == 0 else { return false }
        let now = keepIdle ? acquiredAt : System.monotonicNanoseconds()
        defer { lastRelease = now }
        if keepIdle && now &- lastRelease < Self.idleRelease && !waiterIsFresh(now) {
            kept = true
            return true
        }
        unlock()
        return false
    }

    /// Gives a kept lock back once it has been idle for `idleRelease`, or at once when someone
    /// waits. Returns nil when nothing is kept (any more), else the nanoseconds until it is due.
    /// Same access rule as `depth`.
    func releaseIfIdle() -> UInt64? {
        guard kept, depth == 0 else { return nil }
        let now = System.monotonicNanoseconds()
        let idle = now &- lastRelease
        guard idle < Self.idleRelease && !waiterIsFresh(now) else {
            kept = false
            unlock()
            return nil
        }
        return min(Self.idleRelease - idle, Self.maxBackoff)
    }

    /// Gives a kept lock back now (before the handle closes); same access rule as `depth`.
    func releaseKept() {
        guard kept, depth == 0 else { return }
        kept = false
        unlock()
    }

    private func unlock() {
        lb_atomic_store_u64(word(40), 0)
        files.unlock(fd, byte: Self.writerByte)
        if waiterIsFresh(System.monotonicNanoseconds()) {
            // One waiter, not all: on a machine with few cores, waking every waiter makes them
            // compete for the CPU with the one that gets the lock (and all but one fail and
            // sleep again). A woken waiter that does not take the lock (it died, or another
            // got there first) costs the others at most their back-off (`maxBackoff`).
            lb_atomic_increment_u32(releases)
            lb_futex_wake(releases, 1)
        }
    }

    /// Whether a writer (of any handle) has tried to take the lock recently: its heartbeat is
    /// less than `waiterFreshness` before `now`, or after it by less (`now` may have been read
    /// a moment ago; a heartbeat far ahead is left from before a reboot, the page outlives it).
    private func waiterIsFresh(_ now: UInt64) -> Bool {
        let age = Int64(bitPattern: now &- lb_atomic_load_u64(word(136)))
        return age < Int64(Self.waiterFreshness) && age > -Int64(Self.waiterFreshness)
    }

    private func recordHolder(program: String) {
        lb_atomic_store_u64(word(40), 0)
        if holderName?.program != program {
            let bytes = Array(program.utf8.prefix(63))
            holderName = (program, bytes + [UInt8](repeating: 0, count: 64 - bytes.count))
        }
        holderName!.bytes.withUnsafeBytes { (page + 64).copyMemory(from: $0.baseAddress!, byteCount: 64) }
        lb_atomic_store_u64(word(48), System.wallClockNanoseconds())
        _ = lb_atomic_fetch_add_u64(word(56), 1)
        lb_atomic_store_u64(word(40), pid)
    }

    /// The recorded holder of the writer lock, if one is recorded.
    func holder() -> HolderInfo? {
        HolderInfo.decode(
            pidWord: lb_atomic_load_u64(word(40)), since: lb_atomic_load_u64(word(48)),
            name: UnsafeRawBufferPointer(start: page + 64, count: 64), isAlive: System.isAlive)
    }

    /// Whether another open file description holds the writer lock now.
    func isHeldElsewhere() throws(LogbookError) -> Bool {
        try io(path) { () throws(SystemError) in try files.isLocked(fd, byte: Self.writerByte) }
    }
}
