import Logbook
import Testing

@Suite struct ChangeFeedTests {
    @Test func blockingFeedAcrossHandlesAndCompactions() throws {
        try withTemporaryDirectory("feed") { dir in
            let writer = try Store(path: dir.path)
            let watcher = try Store(path: dir.path)
            try writer.put(b("a"), b("1"))
            let feed = try watcher.changes()  // from now on: after sequence 1
            #expect(try feed.poll() == [])
            try writer.write { tx in
                try tx.put(b("b"), b("2"))
                try tx.delete(b("a"))
            }
            let idle = try watcher.changes()
            try writer.compact()
            var seen = try feed.poll()  // a live follower reads between compactions
            try writer.put(b("c"), [])
            try writer.compact()
            try writer.put(b("d"), b("4"))
            while seen.count < 4, let change = try feed.next(timeout: 10) { seen.append(change) }
            #expect(
                seen == [
                    // A transaction's changes come in key order (the order of its record).
                    Change(sequence: 2, key: b("a"), value: nil),
                    Change(sequence: 2, key: b("b"), value: b("2")),
                    Change(sequence: 3, key: b("c"), value: []),
                    Change(sequence: 4, key: b("d"), value: b("4")),
                ])
            #expect(try feed.next(timeout: 0) == nil)
            #expect(feed.sequence == 4)
            #expect(throws: LogbookError.self) { try watcher.changes(since: 2) }  // compacted up to 3
            // A feed that did not look while two compactions went by cannot go on, and says so.
            let error = try #require(throws: LogbookError.self) { try idle.poll() }
            #expect(error.code == .notFound)
            #expect(error.message.contains("fell behind: log segment 2 was compacted away"))
            #expect(
                try watcher.changes(since: 3).next(timeout: 10)
                    == Change(sequence: 4, key: b("d"), value: b("4")))
            writer.close()
            watcher.close()
        }
    }

    @Test func asyncStreamWithPrefixAndSinceInTheFuture() async throws {
        let dir = TemporaryDirectory("stream")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        // since 2 while the store is empty: changes 1 and 2 are skipped when they come.
        let stream = store.changeStream(since: 2, prefix: b("task/"))
        for (key, value) in [("task/1", "a"), ("task/2", "b"), ("other", "c"), ("task/3", "d")] {
            try store.put(b(key), b(value))
        }
        var got: [Change] = []
        for try await change in stream {
            got.append(change)
            if got.count == 1 { break }
        }
        #expect(got == [Change(sequence: 4, key: b("task/3"), value: b("d"))])
        store.close()
    }
}

extension ChangeFeedTests {
    /// A record damaged after it was committed (a flipped bit on disk), with a whole record
    /// after it: a feed hands out the changes before it, then throws `corrupted` naming the file
    /// and offset, and goes on throwing (it never skips the damage), whether it was following
    /// the log already or starts after the damage is done; one that would start at the damaged
    /// record throws at once.
    @Test func aDamagedRecordStopsTheFeedAfterTheChangesBeforeIt() throws {
        try withTemporaryDirectory("feeddamage") { dir in
            let writer = try Store(path: dir.store)
            defer { writer.close() }
            try writer.put("a", "1")
            let watcher = try Store(path: dir.store)
            defer { watcher.close() }
            let feed = try watcher.changes()  // after sequence 1
            try writer.put("b", "2")
            let damaged = Disk.contentEnd(dir.log)
            try writer.put("c", "3")
            try writer.put("d", "4")
            Disk.flip(dir.log, at: damaged + 12, mask: 0x04)

            for feed in [feed, try watcher.changes(since: 1)] {
                #expect(try feed.poll() == [Change(sequence: 2, key: b("b"), value: b("2"))])
                for _ in 0..<2 {
                    let error = #expect(throws: LogbookError.self) { try feed.poll() }
                    #expect(error?.code == .corrupted)
                    #expect(
                        error?.path == dir.log && error?.offset == UInt64(damaged), "\(String(describing: error))")
                }
                #expect(feed.sequence == 2)
            }
            let atTheDamage = #expect(throws: LogbookError.self) { try watcher.changes(since: 2) }
            #expect(atTheDamage?.code == .corrupted && atTheDamage?.offset == UInt64(damaged))
        }
    }

    @MainActor @Test func asyncStreamFromTheMainActorAndAnotherTask() async throws {
        let dir = TemporaryDirectory("stream-main")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let stream = store.changeStream(since: 0)
        let reader = Task {
            var keys: [[UInt8]] = []
            for try await change in stream {
                keys.append(change.key)
                if keys.count == 2 { break }
            }
            return keys
        }
        try store.put(b("x"), b("1"))
        try store.delete(b("x"))
        #expect(try await reader.value == [b("x"), b("x")])
        var first: Change?
        for try await change in stream {  // a second iterator starts again from `since`
            first = change
            break
        }
        #expect(first == Change(sequence: 1, key: b("x"), value: b("1")))
        store.close()
    }
}
