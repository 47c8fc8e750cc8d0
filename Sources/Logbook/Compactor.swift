#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The thread that runs a handle's automatic compactions (`StoreOptions.compactInBackground`),
/// so that the commit that finds one due returns at once: the merge, the long part, runs beside
/// the commits that follow, and only its seal and install take the writer lock.
///
/// One per handle, started at the first compaction due; `request()` wakes it, `stop()` ends it
/// once the compaction in flight, and one asked for, are over.
final class Compactor: @unchecked Sendable {
    private struct Shared {
        var requested = false
        var stopping = false
    }

    private let shared = LockedCondition(Shared())
    private let work: @Sendable () -> Void
    private var thread: pthread_t?

    /// Starts the thread; nil when the system cannot create one (the commit then compacts itself).
    static func start(_ work: @escaping @Sendable () -> Void) -> Compactor? {
        let compactor = Compactor(work)
        guard let thread = System.startThread({ compactor.run() }) else { return nil }
        compactor.thread = thread
        return compactor
    }

    private init(_ work: @escaping @Sendable () -> Void) { self.work = work }

    /// Asks for a run of `work` (one more, if one is running: it may have looked before the
    /// commit that asks).
    func request() { shared.updateAndBroadcast { $0.requested = true } }

    /// Ends the thread and waits for it (and so for the run in flight, and one asked for).
    func stop() {
        shared.updateAndBroadcast { $0.stopping = true }
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func run() {
        while true {
            // A run asked for before `stop()` still happens: a handle that commits past the
            // threshold and closes at once (a CLI call) compacts as it did in the commit.
            let go = shared.wait { s -> Bool? in
                if s.requested {
                    s.requested = false
                    return true
                }
                return s.stopping ? false : nil
            }
            if !go { return }
            work()
        }
    }
}
