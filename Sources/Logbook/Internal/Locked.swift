import CLogbookShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value guarded by a pthread mutex. All mutable state of a `Store` lives in values of this
/// type. pthread rather than `Synchronization.Mutex` so that ThreadSanitizer understands it.
///
/// The value lives in memory of its own rather than in a stored property: the mutex already
/// makes access exclusive, and a stored `var` of a class would pay Swift's dynamic exclusivity
/// check (a thread-local access set) on every `withLock`.
final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    /// `recursive`: the owning thread may take the lock again (and must release it as often).
    init(_ value: Value, recursive: Bool = false) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        // Adaptive unless recursive: critical sections are short, and a thread that would sleep
        // on a contended lock (a futex wait and a wake-up) spins briefly first.
        pthread_mutexattr_settype(&attributes, recursive ? Int32(PTHREAD_MUTEX_RECURSIVE) : lb_mutex_type_adaptive())
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value if the lock is free now; nil otherwise.
    func withLockIfAvailable<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    func withLock<T: ~Copyable, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}

/// A value guarded by a pthread mutex, with a condition variable to wait for it to change, and a
/// second one (monotonic clock, timed waits) for a single waiter that others signal on purpose.
final class LockedCondition<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let timedCondition: UnsafeMutablePointer<pthread_cond_t>
    /// Out of line for the reason given at `Locked`.
    private let value: UnsafeMutablePointer<Value>

    init(_ value: Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var mutexAttributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&mutexAttributes)
        pthread_mutexattr_settype(&mutexAttributes, lb_mutex_type_adaptive())
        pthread_mutex_init(mutex, &mutexAttributes)
        pthread_mutexattr_destroy(&mutexAttributes)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
        timedCondition = .allocate(capacity: 1)
        timedCondition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(timedCondition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_cond_destroy(timedCondition)
        timedCondition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value.pointee)
    }

    /// Waits, lock held between checks, until `ready` returns non-nil; returns that.
    func wait<T>(until ready: (inout Value) -> T?) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = ready(&value.pointee) { return result }
            pthread_cond_wait(condition, mutex)
        }
    }

    /// Waits on the second condition, lock held between checks, until `ready` returns non-nil
    /// or the monotonic clock passes `deadline` (ns); then returns what `ready` or, at the
    /// deadline, `timedOut` returns.
    func wait<T>(until ready: (inout Value) -> T?, deadline: UInt64, timedOut: (inout Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while true {
            if let result = ready(&value.pointee) { return result }
            if pthread_cond_timedwait(timedCondition, mutex, &time) == ETIMEDOUT {
                return ready(&value.pointee) ?? timedOut(&value.pointee)
            }
        }
    }

    /// Changes the value and wakes the waiter on the second condition when `body` says so;
    /// returns what `body` returns.
    func update<T>(_ body: (inout Value) -> (T, signal: Bool)) -> T {
        pthread_mutex_lock(mutex)
        let (result, signal) = body(&value.pointee)
        if signal { pthread_cond_signal(timedCondition) }
        pthread_mutex_unlock(mutex)
        return result
    }

    /// Changes the value and wakes every waiter; returns what `body` returns.
    @discardableResult
    func updateAndBroadcast<T>(_ body: (inout Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        let result = body(&value.pointee)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        return result
    }
}
