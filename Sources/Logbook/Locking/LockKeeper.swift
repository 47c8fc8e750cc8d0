import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The thread that gives back a writer lock its handle keeps between commits.
///
/// A handle committing back to back keeps the cross-process writer lock after a commit instead
/// of paying two `fcntl` calls per commit (see `ProcessLock.release(keepIdle:)`). Nobody waits
/// on it for long: a commit that sees a waiter gives the lock back at once, and when the handle
/// stops committing, this thread gives it back once it has been idle for
/// `ProcessLock.idleRelease`. It never blocks a commit: it only tries the handle's leader mutex.
///
/// One per handle, started at the first commit that keeps the lock; `stop()` ends it.
final class LockKeeper: @unchecked Sendable {
    /// Gives the lock back if it is still kept and idle long enough; returns nil when nothing is
    /// kept any more, or how many nanoseconds to wait before trying again.
    typealias Release = @Sendable () -> UInt64?

    private struct Shared {
        var watching = false
        var stopping = false
    }

    private let shared: LockedCondition<Shared>
    /// A copy of `Shared.watching` (written under its mutex), so that a commit that finds the
    /// thread watching takes no mutex. A stale `true` is harmless: the thread, about to stop
    /// watching, looks once more (under the handle's leader mutex, which the commit holds).
    private let watching = Atomic<Bool>(false)
    private let release: Release
    private var thread: pthread_t?

    /// Starts the thread; nil when the system cannot create one (the handle then never keeps
    /// the lock).
    static func start(_ release: @escaping Release) -> LockKeeper? {
        let keeper = LockKeeper(release)
        guard let thread = System.startThread({ keeper.run() }) else { return nil }
        keeper.thread = thread
        return keeper
    }

    private init(_ release: @escaping Release) {
        self.release = release
        shared = LockedCondition(Shared())
    }

    /// Called after a commit kept the lock: the thread starts watching if it was not.
    func kept() {
        if watching.load(ordering: .acquiring) { return }
        let wake = shared.withLock { s in
            if s.watching { return false }
            s.watching = true
            watching.store(true, ordering: .releasing)
            return true
        }
        if wake { shared.updateAndBroadcast { _ in } }
    }

    /// Ends the thread and waits for it. The caller holds the handle's leader mutex, so the
    /// thread cannot be giving the lock back meanwhile; whatever is kept is the caller's to release.
    func stop() {
        shared.updateAndBroadcast { $0.stopping = true }
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func run() {
        while true {
            let stop = shared.wait { s -> Bool? in s.stopping ? true : (s.watching ? false : nil) }
            if stop { return }
            // Watching: check until nothing is kept any more.
            while true {
                if shared.withLock({ $0.stopping }) { return }
                guard let wait = release() else { break }
                System.sleep(nanoseconds: wait)
            }
            shared.withLock { s in
                s.watching = false
                watching.store(false, ordering: .releasing)
            }
            // A commit may have kept the lock between `release()` saying "nothing kept" and the
            // line above; it saw `watching` still true and did not wake us. Look once more.
            if let wait = release() {
                shared.withLock { s in
                    s.watching = true
                    watching.store(true, ordering: .releasing)
                }
                System.sleep(nanoseconds: wait)
            }
        }
    }
}
