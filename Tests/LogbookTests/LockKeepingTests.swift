// A handle that commits back to back keeps the writer lock between commits (no lock system call
// per commit), and gives it back when another handle or process wants it, when it goes idle,
// and when it closes.

import Glibc
import Synchronization
import Testing

@_spi(Testing) @testable import Logbook

/// The real file layer, counting the writer-lock calls (`tryLock` / `unlock` of byte 0).
private final class LockCountingFileLayer: ForwardingFileLayer, Sendable {
    let base: any FileLayer = PosixFileLayer()
    private let counts = Locked((tries: 0, unlocks: 0))

    var tries: Int { counts.withLock { $0.tries } }
    var unlocks: Int { counts.withLock { $0.unlocks } }

    func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool {
        if byte == 0 { counts.withLock { $0.tries += 1 } }
        return try base.tryLock(fd, byte: byte)
    }

    func unlock(_ fd: Int32, byte: Int64) {
        if byte == 0 { counts.withLock { $0.unlocks += 1 } }
        base.unlock(fd, byte: byte)
    }
}

/// Polls `condition` every millisecond for up to `seconds`; whether it became true. A bound on
/// correctness (a lock that never comes back), not a timing assertion.
private func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    for _ in 0..<Int(seconds * 1000) {
        if try condition() { return true }
        usleep(1000)
    }
    return try condition()
}

@Suite("Writer lock kept between commits")
struct LockKeepingTests {
    /// Opens a relaxed store in `directory` whose lock calls are counted, runs `before`,
    /// then commits 2000 puts back to back and checks that the handle kept the writer lock
    /// between them (without keeping it: 2000 lock attempts and 2000 unlocks).
    private func expectTheLockKept(in directory: String, before: () throws -> Void = {}) throws {
        let layer = LockCountingFileLayer()
        var options = StoreOptions(durability: .relaxed)
        options.fileLayer = layer
        let store = try Store(path: directory, options: options)
        defer { store.close() }
        try before()
        let (triesBefore, unlocksBefore) = (layer.tries, layer.unlocks)
        for i in 0..<2000 { try store.put("k\(i)", "v") }
        let tries = layer.tries - triesBefore
        let unlocks = layer.unlocks - unlocksBefore
        // A commit that finds the lock given back (the idle keeper runs when this thread is
        // descheduled for a millisecond) takes it again.
        #expect(tries >= 1 && tries < 1000, "\(tries) lock attempts for 2000 commits")
        #expect(unlocks < 1000, "\(unlocks) unlocks for 2000 commits")
        #expect(try store.verify().records == 2000)
    }

    @Test func backToBackCommitsTakeTheLockOnce() throws {
        try withTemporaryDirectory("keep") { dir in try expectTheLockKept(in: dir.store) }
    }

    /// The page outlives a reboot (it is the LOCK file), and CLOCK_MONOTONIC starts again at
    /// zero: a waiter's heartbeat from before it lies far ahead of the clock and must not count
    /// as a waiter (which would make every commit give the lock back and pause for a hand-off).
    @Test(arguments: [UInt64(1) << 62, UInt64.max - 1_000])
    func aHeartbeatLeftFromBeforeARebootIsNoWaiter(heartbeat: UInt64) throws {
        try withTemporaryDirectory("reboot") { dir in
            try expectTheLockKept(in: dir.store) {
                let fd = open(dir.store + "/LOCK", O_RDWR)
                #expect(fd >= 0)
                var word = heartbeat.littleEndian
                #expect(pwrite(fd, &word, 8, 136) == 8)  // the waiter heartbeat, seen through the mapping
                close(fd)
            }
        }
    }

    @Test func aKeptLockGoesBackWhenTheHandleIsIdle() throws {
        try withTemporaryDirectory("idle") { dir in
            let keeper = try Store(path: dir.store, options: StoreOptions(durability: .relaxed))
            let other = try Store(path: dir.store, options: StoreOptions(durability: .relaxed))
            for i in 0..<50 { try keeper.put("k\(i)", "v") }
            // The handle now does nothing; its lock must come back without any call on it.
            #expect(try eventually(within: 5) { try other.writerLockHolder() == nil })
            #expect(try other.writerLockHolder() == nil)
            let holder = try keeper.withWriterLockHeld { () throws in try other.writerLockHolder() }
            #expect(holder?.pid == getpid(), "the check above can see a held lock")
            keeper.close()
            other.close()
        }
    }

    @Test func anotherHandleGetsTheLockWhileTheFirstKeepsCommitting() throws {
        try withTemporaryDirectory("contend") { dir in
            let busy = try Store(path: dir.store, options: StoreOptions(durability: .relaxed))
            let other = try Store(path: dir.store, options: StoreOptions(durability: .relaxed, lockTimeout: 5))
            let stop = Atomic<Bool>(false)
            let busyCommits = Atomic<Int>(0)
            let otherCommits = Atomic<Int>(0)
            let errors = runOnThreads(2) { index in
                if index == 0 {
                    while !stop.load(ordering: .relaxed) {
                        try busy.put("busy", "\(busyCommits.add(1, ordering: .relaxed).newValue)")
                    }
                } else {
                    defer { stop.store(true, ordering: .relaxed) }
                    // Start once the busy handle commits back to back, keeping the lock.
                    while busyCommits.load(ordering: .relaxed) < 100 { usleep(100) }
                    for i in 0..<50 {
                        try other.put("other\(i)", "v")  // a time-out (5 s) throws and fails the test
                        otherCommits.add(1, ordering: .relaxed)
                    }
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(otherCommits.load(ordering: .relaxed) == 50)
            #expect(try busy.verify().records == 50 + busyCommits.load(ordering: .relaxed))
            #expect(try busy.scan(prefix: "other").count == 50)
            busy.close()
            other.close()
        }
    }

    @Test func closingGivesAKeptLockBackAtOnce() throws {
        try withTemporaryDirectory("close") { dir in
            let keeper = try Store(path: dir.store, options: StoreOptions(durability: .relaxed))
            let other = try Store(path: dir.store, options: StoreOptions(durability: .relaxed, lockTimeout: 0))
            for i in 0..<50 { try keeper.put("k\(i)", "v") }
            keeper.close()
            // A zero time-out: one attempt, which fails if the closed handle still held the lock.
            try other.put("after", "1")
            #expect(try other.string("after") == "1")
            other.close()
        }
    }
}
