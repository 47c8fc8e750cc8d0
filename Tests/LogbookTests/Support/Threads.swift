// Real POSIX threads for the concurrency tests: the cooperative pool of Swift concurrency has
// only as many threads as cores, and these tests want more contenders than that.

import Glibc
import Synchronization

/// Runs `body(index)` on `count` new POSIX threads at once and waits for all of them.
/// Returns the errors the bodies threw, in no particular order. No test is current on these
/// threads, so bodies report failures by throwing (see `check`), not with #expect.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> [any Error] {
    let errors = Mutex<[any Error]>([])
    let gate = StartGate(parties: count)
    var threads: [pthread_t] = []
    for index in 0..<count {
        let context = ThreadContext {
            gate.arriveAndWait()
            do { try body(index) } catch { errors.withLock { $0.append(error) } }
        }
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
                context.run()
                return nil
            }, Unmanaged.passRetained(context).toOpaque())
        precondition(result == 0, "pthread_create failed: \(result)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
    return errors.withLock { $0 }
}

private final class ThreadContext: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Releases all threads together once every one has started, so they really contend.
/// An atomic counter rather than a `Mutex`, which ThreadSanitizer misreads on Linux.
private final class StartGate: Sendable {
    private let waiting: Atomic<Int>

    init(parties: Int) { waiting = Atomic(parties) }

    func arriveAndWait() {
        waiting.subtract(1, ordering: .acquiringAndReleasing)
        while waiting.load(ordering: .acquiring) > 0 { sched_yield() }
    }
}

/// A failed check on a thread that is not running a test (where #expect has no test to report to).
struct ThreadCheckFailure: Error, CustomStringConvertible {
    var description: String
}

/// Throws `ThreadCheckFailure(message)` unless `condition` holds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ThreadCheckFailure(description: message()) }
}
