// Threads: concurrent read-modify-write transactions on one handle and on separate handles of
// one directory lose no update, and no reader ever sees half a transaction.

import Glibc
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct ThreadTests {
    /// Contention can make a transaction retry many times; these tests are about exactness.
    static func options(_ durability: Durability = .relaxed) -> StoreOptions {
        var options = StoreOptions(durability: durability)
        options.maxConflictRetries = 1_000_000
        return options
    }

    static func increment(_ store: Store, _ key: String = "counter") throws {
        try store.write { tx in
            let n = Int(try tx.string(key) ?? "0")!
            try tx.put(key, String(n + 1))
        }
    }

    @Test func eightThreadsIncrementingThroughOneHandleLoseNoUpdate() throws {
        try withTemporaryDirectory("threads") { dir in
            let store = try Store(path: dir.store, options: Self.options())
            let errors = runOnThreads(8) { _ in
                for _ in 0..<200 { try Self.increment(store) }
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try store.string("counter") == "1600")
            #expect(try store.stats().lastSequence == 1600, "one commit per increment")
            store.close()
            let reopened = try Store(path: dir.store, options: Self.options())
            #expect(try reopened.string("counter") == "1600")
            #expect(try reopened.verify().records == 1600)
            reopened.close()
        }
    }

    @Test func fourThreadsOnFourHandlesOfOneDirectoryLoseNoUpdate() throws {
        try withTemporaryDirectory("handles") { dir in
            let stores = try (0..<4).map { _ in try Store(path: dir.store, options: Self.options()) }
            let errors = runOnThreads(4) { index in
                for _ in 0..<200 { try Self.increment(stores[index]) }
            }
            #expect(errors.isEmpty, "\(errors)")
            for store in stores {
                #expect(try store.string("counter") == "800")
                store.close()
            }
            let reopened = try Store(path: dir.store, options: Self.options())
            #expect(try reopened.string("counter") == "800")
            #expect(try reopened.stats().lastSequence == 800)
            reopened.close()
        }
    }

    /// With syncs in the commit path (normal durability), on two handles per thread pair.
    @Test func incrementsWithNormalDurabilityAcrossHandlesAreExact() throws {
        try withTemporaryDirectory("normalthreads") { dir in
            let stores = try (0..<2).map { _ in try Store(path: dir.store, options: Self.options(.normal)) }
            let errors = runOnThreads(4) { index in
                for _ in 0..<25 { try Self.increment(stores[index % 2]) }
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try stores[0].string("counter") == "100")
            // Commits, not syncs: group commit may let concurrent commits share one sync.
            #expect(try stores[0].stats().commits + stores[1].stats().commits == 100)
            #expect(try stores[0].stats().lastSequence == 100)
            for store in stores { store.close() }
        }
    }

    /// Writers move two keys together; readers on other threads and handles must always see
    /// them equal (a transaction is atomic to every observer) and never going backwards.
    /// Gets read a view published for them (looked up after the state's mutex is let go): the
    /// same one while nothing changes, a new one after a commit of this handle or of another.
    @Test func getsReusePublishedViewOnlyWhileNothingChanged() throws {
        try withTemporaryDirectory("published") { dir in
            let store = try Store(path: dir.store, options: Self.options())
            let other = try Store(path: dir.store, options: Self.options())
            try store.put("k", "1")
            let first = try store.readableView()
            #expect(try store.readableView() === first)
            #expect(try store.string("k") == "1")
            try store.put("k", "2")
            let second = try store.readableView()
            #expect(second !== first)
            #expect(try store.string("k") == "2")
            try other.put("k", "3")
            #expect(try store.readableView() !== second)
            #expect(try store.string("k") == "3")
            #expect(store.reads.published?.isCurrent(store.processLock) == true, "gets read it without the mutex")
            // The commit counter moves with nothing new to read (as when another process
            // publishes records this handle applied already): the view is made again with the
            // new counter, so that gets go back to reading it without the mutex.
            let lock = store.processLock
            _ = lock.publish(segment: lock.segment, end: lock.publishedEnd, durable: true)
            #expect(store.reads.published?.isCurrent(lock) == false)
            #expect(try store.string("k") == "3")
            #expect(store.reads.published?.isCurrent(lock) == true, "current again")
            _ = try other.compact()
            #expect(try store.string("k") == "3")
            try store.put("j", "4")
            #expect(try other.string("j") == "4")
            store.close()
            other.close()
        }
    }

    /// Gets from several threads while another commits: threads getting a counter through the
    /// writer's handle and through another see it only rise, never past what was committed, and
    /// end at the last commit.
    @Test func concurrentGetsSeeCommittedValuesInOrder() throws {
        try withTemporaryDirectory("gets") { dir in
            let writer = try Store(path: dir.store, options: Self.options())
            let otherHandle = try Store(path: dir.store, options: Self.options())
            try writer.put("n", "0")
            let errors = runOnThreads(5) { index in
                if index == 0 {
                    for i in 1...300 {
                        try writer.put("n", String(i))
                        try writer.put("other-\(i % 7)", String(i))
                    }
                    return
                }
                let store = index % 2 == 0 ? writer : otherHandle
                var last = 0
                var reads = 0
                while last < 300 {
                    let now = Int(try store.string("n")!)!
                    try check(now >= last && now <= 300, "went from \(last) to \(now)")
                    last = now
                    reads += 1
                    try check(reads < 50_000_000, "never saw the last commit (at \(last))")
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try otherHandle.string("other-6") == "300")
            writer.close()
            otherHandle.close()
        }
    }

    @Test func readersNeverSeeHalfATransaction() throws {
        try withTemporaryDirectory("atomic") { dir in
            let writer = try Store(path: dir.store, options: Self.options())
            let otherHandle = try Store(path: dir.store, options: Self.options())
            try writer.write { tx in
                try tx.put("left", "0")
                try tx.put("right", "0")
            }
            let errors = runOnThreads(4) { index in
                if index < 2 {
                    let store = index == 0 ? writer : otherHandle
                    for _ in 0..<150 {
                        try store.write { tx in
                            let n = Int(try tx.string("left")!)!
                            try tx.put("left", String(n + 1))
                            try tx.put("right", String(n + 1))
                        }
                    }
                } else {
                    let store = index == 2 ? writer : otherHandle
                    var last = 0
                    for _ in 0..<400 {
                        let pair = try store.read { rtx in (try rtx.string("left")!, try rtx.string("right")!) }
                        let scanned = try store.scan().map { String(decoding: $0.value, as: UTF8.self) }
                        // On a raw thread no test is current, so failures are thrown, not #expect'ed.
                        try check(pair.0 == pair.1, "read: \(pair)")
                        try check(scanned.count == 2 && scanned[0] == scanned[1], "scan: \(scanned)")
                        let now = Int(pair.0)!
                        try check(now >= last, "went back from \(last) to \(now)")
                        last = now
                    }
                }
            }
            #expect(errors.isEmpty, "\(errors)")
            #expect(try writer.string("left") == "300")
            #expect(try otherHandle.string("right") == "300")
            writer.close()
            otherHandle.close()
        }
    }
}
