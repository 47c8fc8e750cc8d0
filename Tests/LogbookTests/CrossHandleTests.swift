// Separate handles on one directory (as separate processes would have): each sees the others'
// commits on its very next operation, builds its writes on them, and learns who holds the
// writer lock.

import Glibc
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CrossHandleTests {
    @Test func aCommitIsVisibleToAnotherHandleOnItsVeryNextRead() throws {
        try withTemporaryDirectory("fresh") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            #expect(try other.get("k") == nil)
            for i in 0..<100 {
                let (writer, reader) = i % 2 == 0 ? (a, other) : (other, a)
                try writer.put("k", "\(i)")
                #expect(try reader.string("k") == "\(i)", "round \(i)")
            }
            try a.write { tx in
                try tx.put("x", "1")
                try tx.delete("k")
            }
            #expect(try other.get("k") == nil)
            #expect(try other.scan() == [KeyValue(key: b("x"), value: b("1"))])
            #expect(try other.read { try $0.string("x") } == "1")
            #expect(try other.stats().lastSequence == 101)
            #expect(try other.stats().keys == 1)
            #expect(try a.compareAndSwap(b("x"), expected: b("1"), new: b("2")))
            #expect(try other.string("x") == "2")

            // A write on the other handle builds on what it has not read yet.
            try a.put("counter", "41")
            try other.write { tx in
                let n = Int(try tx.string("counter")!)!
                try tx.put("counter", String(n + 1))
            }
            #expect(try a.string("counter") == "42")

            // A handle opened afterwards sees everything; so does verify on any handle.
            let late = try Store(path: dir.store, options: relaxed())
            #expect(try late.scan() == (try a.scan()))
            #expect(try other.verify().records == 104)
            for store in [a, other, late] { store.close() }
        }
    }

    /// Checking for other handles' commits costs no system call when there are none; when
    /// there is one, the reader reads just the new bytes of the log.
    @Test func readsMakeNoFileCallsUntilAnotherHandleCommits() throws {
        try withTemporaryDirectory("nosyscall") { dir in
            let layer = ProbeFileLayer()
            let reader = try Store(path: dir.store, options: relaxed().with(layer))
            let writer = try Store(path: dir.store, options: relaxed())
            try writer.put("a", "1")
            #expect(try reader.string("a") == "1")
            layer.probe.reset()
            for _ in 0..<100 {
                #expect(try reader.string("a") == "1")
                #expect(try reader.scan().count == 1)
                _ = try reader.read { try $0.count }
            }
            #expect(layer.probe.calls.isEmpty, "\(layer.probe.calls)")

            try writer.put("b", "2")
            #expect(try reader.string("b") == "2")
            #expect(
                layer.probe.calls.allSatisfy { $0.operation == .read && $0.file == "log-1.wal" }, "\(layer.probe.calls)"
            )
            #expect(!layer.probe.calls.isEmpty)
            reader.close()
            writer.close()
        }
    }

    @Test func commitsInDifferentModesInterleaveOnOneLog() throws {
        try withTemporaryDirectory("modes") { dir in
            let stores = try Durability.allCases.map {
                try Store(path: dir.store, options: StoreOptions(durability: $0))
            }
            for i in 0..<30 {
                try stores[i % 3].put("k\(i)", "\(i)")
                for store in stores { #expect(try store.string("k\(i)") == "\(i)") }
            }
            #expect(try stores[1].verify().records == 30)
            for store in stores { store.close() }
        }
    }

    /// `LOCK` deleted by hand while a handle has the store open (taken for a stale lock file):
    /// the next handle creates another, and the locks of the two files exclude nothing of each
    /// other. The old handle finds its file gone when it next takes the writer lock, and
    /// refuses that write and every later one (reads go on); the new handle's commits are
    /// intact, and a reopen holds them all, nothing of the refused writes.
    @Test(arguments: [Durability.normal, .relaxed])
    func aHandleWhoseLockFileWasDeletedRefusesToWrite(_ durability: Durability) throws {
        try withTemporaryDirectory("lockgone") { dir in
            let options = StoreOptions(durability: durability)
            let old = try Store(path: dir.store, options: options)
            defer { old.close() }
            try old.put("a", "1")
            // A `relaxed` handle keeps the lock between commits until it is idle: let it go.
            let watcher = try Store(path: dir.store, options: options)
            let deadline = System.monotonicNanoseconds() + 10_000_000_000
            while try watcher.lockStatus().writerHeld && System.monotonicNanoseconds() < deadline { usleep(1000) }
            #expect(try watcher.lockStatus().writerHeld == false)
            watcher.close()
            Disk.removeTree(dir.store + "/LOCK")
            let new = try Store(path: dir.store, options: options)
            defer { new.close() }
            try new.put("b", "2")
            for (what, write) in [
                ("put", { try old.put("c", "3") }), ("delete", { _ = try old.delete("a") }),
                ("compact", { _ = try old.compact() }),
            ] as [(String, () throws -> Void)] {
                let error = #expect(throws: LogbookError.self, "\(what)") { try write() }
                #expect(error?.code == .storeFailed, "\(what)")
                #expect(
                    error?.message.hasPrefix("the LOCK file of \(dir.store) was deleted or replaced") == true,
                    "\(what): \(String(describing: error))")
            }
            #expect(try old.string("a") == "1", "reads go on")
            try new.put("d", "4")
            let reopened = try Store(path: dir.store)
            defer { reopened.close() }
            #expect(try reopened.scan().map(\.key) == ["a", "b", "d"].map(b))
            #expect(try reopened.verify().records == 3)
        }
    }

    /// A lock kept between back-to-back commits is not taken again, so it checks the file's
    /// name now and then instead (`nameCheckInterval`; here at every kept commit): a run of
    /// commits stops too once `LOCK` is deleted.
    @Test func aKeptLockChecksItsFileNowAndThen() throws {
        try withTemporaryDirectory("lockgonekept") { dir in
            Disk.makeDirectory(dir.store)
            let lock = try ProcessLock(directory: dir.store, files: PosixFileLayer(), nameCheckInterval: 0)
            defer { lock.close() }
            // Two acquisitions within a millisecond: the second release keeps the lock.
            var attempts = 0
            repeat {
                try lock.acquire(timeout: 1, program: "test")
                lock.release(keepIdle: true)
                attempts += 1
            } while !lock.kept && attempts < 1000
            try #require(lock.kept)
            Disk.removeTree(dir.store + "/LOCK")
            let error = #expect(throws: LogbookError.self) { try lock.acquire(timeout: 1, program: "test") }
            #expect(error?.code == .storeFailed)
            #expect(!lock.kept)
            #expect(throws: LogbookError.self, "and every later acquisition") {
                try lock.acquire(timeout: 1, program: "test")
            }
        }
    }

    @Test func anotherHandleSeesTheLockHolderAndTimesOutNamingIt() throws {
        try withTemporaryDirectory("holder") { dir in
            let holder = try Store(
                path: dir.store, options: StoreOptions(durability: .relaxed, programName: "holder-test"))
            let waiter = try Store(path: dir.store, options: StoreOptions(durability: .relaxed, lockTimeout: 0.2))
            #expect(try waiter.writerLockHolder() == nil)
            try holder.withWriterLockHeld {
                let info = try #require(try waiter.writerLockHolder())
                #expect(info.pid == getpid())
                #expect(info.program == "holder-test")
                #expect(info.isAlive)
                let error = #expect(throws: LogbookError.self) { try waiter.put("k", "v") }
                #expect(error?.code == .lockTimeout)
                #expect(error?.exitCode == 4)
                #expect(error?.message.contains("\(getpid())") == true, "\(error?.message ?? "")")
                #expect(error?.message.contains("holder-test") == true, "\(error?.message ?? "")")
                #expect(try waiter.get("k") == nil, "reads take no lock and still work")
            }
            #expect(try waiter.writerLockHolder() == nil)
            try waiter.put("k", "v")
            #expect(try holder.string("k") == "v")
            holder.close()
            waiter.close()
        }
    }
}
