// Transactions: read-your-writes in get and scan, rollback on throw, optimistic conflict
// detection between handles (keys read and ranges scanned, phantoms included), retries and
// their bound, and read-only snapshots.

import Testing

@_spi(Testing) @testable import Logbook

/// A counter a transaction closure bumps on every run (closures may run more than once).
final class RunCounter: @unchecked Sendable {
    var runs = 0
}

/// An increment of "k" (holding "0") in `a.write { }`, reading it with `read`, while `other`
/// commits "100" to it during the first run: the commit must fail validation and the closure
/// run again on the new state, so that no update is lost ("101" in the end).
func expectRerunAfterAConflict(_ a: Store, _ other: Store, read: (WriteTransaction) throws -> Int) throws {
    let counter = RunCounter()
    let result = try a.write { tx -> Int in
        counter.runs += 1
        let value = try read(tx)
        if counter.runs == 1 { try other.put("k", "100") }
        try tx.put("k", String(value + 1))
        return value
    }
    #expect(counter.runs == 2)
    #expect(result == 100, "the result of the run that committed")
    #expect(try a.string("k") == "101")
    #expect(try other.string("k") == "101")
}

@Suite struct TransactionTests {
    static func kv(_ key: String, _ value: String) -> KeyValue { KeyValue(key: b(key), value: b(value)) }

    @Test func getAndScanSeeTheTransactionsOwnWritesMergedOverTheSnapshot() throws {
        try withTemporaryDirectory("ryw") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            for (k, v) in [("a", "1"), ("b", "2"), ("c", "3"), ("e", "5")] { try store.put(k, v) }
            try store.write { tx in
                try tx.put("b", "20")
                try tx.delete("c")
                try tx.put("d", "4")
                try tx.delete("zz")
                try tx.put("f", "6")
                try tx.delete("f")
                try tx.put("0", "zero")
                #expect(try tx.string("a") == "1")
                #expect(try tx.string("b") == "20")
                #expect(try tx.get("c") == nil)
                #expect(try tx.string("d") == "4")
                #expect(try tx.get("f") == nil)
                #expect(try tx.get("zz") == nil)
                let merged = [
                    Self.kv("0", "zero"), Self.kv("a", "1"), Self.kv("b", "20"), Self.kv("d", "4"), Self.kv("e", "5"),
                ]
                #expect(try tx.scan() == merged)
                #expect(try tx.scan(ScanOptions(reverse: true)) == merged.reversed())
                #expect(try tx.scan(ScanOptions(limit: 2)) == Array(merged.prefix(2)))
                #expect(try tx.scan(ScanOptions(limit: 2, reverse: true)) == [Self.kv("e", "5"), Self.kv("d", "4")])
                #expect(
                    try tx.scan(ScanOptions(start: b("b"), end: b("e"))) == [Self.kv("b", "20"), Self.kv("d", "4")])
                #expect(try tx.scan(ScanOptions(start: b("c"), limit: 1)) == [Self.kv("d", "4")])
                #expect(try tx.scan(ScanOptions(prefix: b("c"))) == [])
                #expect(try tx.scan(ScanOptions(prefix: b("f"))) == [])
                #expect(
                    try tx.scan(ScanOptions(end: b("b"), reverse: true)) == [Self.kv("a", "1"), Self.kv("0", "zero")])
                // Nothing is visible outside the transaction before it commits.
                #expect(try store.string("b") == "2")
                #expect(try store.get("d") == nil)
            }
            #expect(
                try store.scan() == [
                    Self.kv("0", "zero"), Self.kv("a", "1"), Self.kv("b", "20"), Self.kv("d", "4"), Self.kv("e", "5"),
                ])
            store.close()
        }
    }

    @Test func throwingFromTheClosureRollsEverythingBack() throws {
        try withTemporaryDirectory("rollback") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            try store.put("a", "1")
            let sequence = try store.stats().lastSequence
            let size = Disk.size(dir.log)
            #expect(throws: RollBack.self) {
                try store.write { tx in
                    try tx.put("x", "y")
                    try tx.delete("a")
                    throw RollBack()
                }
            }
            #expect(try store.scan() == [Self.kv("a", "1")])
            #expect(try store.stats().lastSequence == sequence)
            #expect(Disk.size(dir.log) == size)

            // A transaction escaping its closure cannot be used any more.
            var escaped: WriteTransaction?
            try store.write { tx in escaped = tx }
            let error = #expect(throws: LogbookError.self) { try escaped?.put("late", "write") }
            #expect(error?.code == .invalidArgument)
            #expect(try store.get("late") == nil)
            #expect(try store.write { _ in 42 } == 42, "the closure's result is returned")
            store.close()
        }
    }

    /// A reads k, B commits k before A commits: A's commit fails validation and its closure
    /// runs again on the new state, so no update is lost.
    @Test func aKeyChangedByAnotherHandleMakesTheTransactionRunAgain() throws {
        try withTemporaryDirectory("conflict") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("k", "0")
            try expectRerunAfterAConflict(a, other) { tx in Int(try tx.string("k")!)! }
            a.close()
            other.close()
        }
    }

    /// Validation is skipped only when nothing was committed since the snapshot; a compaction
    /// in between (a new MANIFEST) makes it check the reads, and a commit before the compaction
    /// is still a conflict.
    @Test func aCompactionBetweenTheReadAndTheCommitStillCatchesAConflict() throws {
        try withTemporaryDirectory("compactconflict") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("k", "0")
            let counter = RunCounter()
            try a.write { tx in
                counter.runs += 1
                let value = Int(try tx.string("k")!)!
                if counter.runs == 1 { _ = try other.compact() }
                try tx.put("k", String(value + 1))
            }
            #expect(counter.runs == 1, "a compaction changes nothing a transaction read")
            try a.write { tx in
                counter.runs += 1
                let value = Int(try tx.string("k")!)!
                if counter.runs == 2 {
                    try other.put("k", "100")
                    _ = try other.compact()
                }
                try tx.put("k", String(value + 1))
            }
            #expect(counter.runs == 3)
            #expect(try other.string("k") == "101")
            a.close()
            other.close()
        }
    }

    /// Write sets past the linear-scan size (a hash index, another sort): puts, overwrites and
    /// deletes in random order commit as one record in key order, and read back as written.
    @Test func aLargeWriteSetInRandomOrderCommitsExactly() throws {
        try withTemporaryDirectory("largeset") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            for count in [2, 16, 17, 300] {
                var expected: [String: String] = [:]
                var random = SystemRandomNumberGenerator()
                try store.write { tx in
                    expected = [:]
                    for i in (0..<count).shuffled(using: &random) {
                        let key = "n\(count)/\(i)"
                        try tx.put(key, "first")
                        expected[key] = "first"
                        if i % 3 == 0 {
                            try tx.put(key, "second \(i)")
                            expected[key] = "second \(i)"
                        }
                        if i % 5 == 0 {
                            try tx.delete(b(key))
                            expected[key] = nil
                        }
                        #expect(try tx.string(key) == expected[key])
                    }
                }
                let stored = try store.scan(ScanOptions(prefix: b("n\(count)/")))
                #expect(stored.count == expected.count, "\(count) writes")
                #expect(stored.map(\.key) == stored.map(\.key).sorted { $0.lexicographicallyPrecedes($1) })
                for pair in stored {
                    #expect(
                        expected[String(decoding: pair.key, as: UTF8.self)]
                            == String(decoding: pair.value, as: UTF8.self))
                }
            }
            store.close()
            let reopened = try Store(path: dir.store)
            #expect(try reopened.scan(ScanOptions(prefix: b("n300/"))).count == 300 - 60)
            reopened.close()
        }
    }

    @Test func readingAnAbsentKeyThatAnotherHandleCreatesConflicts() throws {
        try withTemporaryDirectory("absent") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            let counter = RunCounter()
            try a.write { tx in
                counter.runs += 1
                let exists = try tx.get("lock") != nil
                if counter.runs == 1 { try other.put("lock", "held") }
                if !exists { try tx.put("claimed-by", "a") }
            }
            #expect(counter.runs == 2)
            #expect(try a.get("claimed-by") == nil, "the second run saw the key and did not claim")
            a.close()
            other.close()
        }
    }

    @Test func deletingAKeyTheTransactionReadConflicts() throws {
        try withTemporaryDirectory("delconflict") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("k", "1")
            let counter = RunCounter()
            try a.write { tx in
                counter.runs += 1
                let value = try tx.string("k")
                if counter.runs == 1 { try other.delete("k") }
                try tx.put("copy", value ?? "none")
            }
            #expect(counter.runs == 2)
            #expect(try a.string("copy") == "none")
            a.close()
            other.close()
        }
    }

    @Test func aBlindWriteDoesNotConflict() throws {
        try withTemporaryDirectory("blind") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            let counter = RunCounter()
            try a.write { tx in
                counter.runs += 1
                if counter.runs == 1 { try other.put("k", "other") }
                try tx.put("k", "a")
            }
            #expect(counter.runs == 1)
            #expect(try other.string("k") == "a", "serial order: other's commit, then a's")
            a.close()
            other.close()
        }
    }

    @Test func conflictsBeyondTheRetryBoundThrowConflictAndWriteNothing() throws {
        try withTemporaryDirectory("retries") { dir in
            // Two retries: all three runs are optimistic (from the fourth run on, a transaction runs
            // under the writer lock, where this closure's own commit through `other` would wait).
            let a = try Store(path: dir.store, options: relaxed { $0.maxConflictRetries = 2 })
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("k", "0")
            let counter = RunCounter()
            let error = #expect(throws: LogbookError.self) {
                try a.write { tx in
                    counter.runs += 1
                    _ = try tx.get("k")
                    try other.put("k", "other \(counter.runs)")
                    try tx.put("k", "a")
                }
            }
            #expect(error?.code == .conflict)
            #expect(error?.exitCode == 3)
            #expect(counter.runs == 3, "the first run and 2 retries")
            #expect(try a.string("k") == "other 3")
            a.close()
            other.close()
        }
    }

    /// The transaction summarizes a prefix; another handle inserts into the prefix meanwhile:
    /// a phantom, so the transaction must run again and count it.
    @Test func anInsertIntoAScannedRangeIsAPhantomAndTheTransactionRunsAgain() throws {
        try withTemporaryDirectory("phantom") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("item/1", "x")
            try a.put("item/2", "x")
            let counter = RunCounter()
            try a.write { tx in
                counter.runs += 1
                let count = try tx.scan(ScanOptions(prefix: b("item/"))).count
                if counter.runs == 1 { try other.put("item/3", "x") }
                try tx.put("summary", String(count))
            }
            #expect(counter.runs == 2)
            #expect(try a.string("summary") == "3")

            // A deletion inside the range too.
            counter.runs = 0
            try a.write { tx in
                counter.runs += 1
                let count = try tx.scan(ScanOptions(prefix: b("item/"))).count
                if counter.runs == 1 { try other.delete("item/1") }
                try tx.put("summary", String(count))
            }
            #expect(counter.runs == 2)
            #expect(try a.string("summary") == "2")

            // A changed value inside the range too.
            counter.runs = 0
            try a.write { tx in
                counter.runs += 1
                let values = try tx.scan(ScanOptions(prefix: b("item/"))).map {
                    String(decoding: $0.value, as: UTF8.self)
                }
                if counter.runs == 1 { try other.put("item/2", "changed") }
                try tx.put("summary", values.joined(separator: ","))
            }
            #expect(counter.runs == 2)
            #expect(try a.string("summary") == "changed,x")
            a.close()
            other.close()
        }
    }

    @Test func writesOutsideTheScannedRangeDoNotConflict() throws {
        try withTemporaryDirectory("outside") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("item/1", "x")
            let counter = RunCounter()
            try a.write { tx in
                counter.runs += 1
                let count = try tx.scan(ScanOptions(prefix: b("item/"))).count
                if counter.runs == 1 {
                    try other.put("item", "just below the prefix")
                    try other.put("item0", "just above the prefix")
                    try other.put("summary", "overwritten blindly")
                }
                try tx.put("summary", String(count))
            }
            #expect(counter.runs == 1)
            #expect(try a.string("summary") == "1")
            a.close()
            other.close()
        }
    }

    /// A limited scan depends only on the part of the range up to the last key it returned.
    @Test func aLimitedScanConflictsOnlyWithChangesBeforeItsLastKey() throws {
        try withTemporaryDirectory("limited") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("item/1", "x")
            try a.put("item/5", "x")
            let cases: [(reverse: Bool, insert: String, runs: Int)] = [
                (false, "item/3", 1), (false, "item/0", 2), (true, "item/4", 1), (true, "item/9", 2),
            ]
            for (index, test) in cases.enumerated() {
                let counter = RunCounter()
                try a.write { tx in
                    counter.runs += 1
                    let first = try tx.scan(ScanOptions(prefix: b("item/"), limit: 1, reverse: test.reverse))
                    if counter.runs == 1 { try other.put(test.insert, "new") }
                    try tx.put("first\(index)", String(decoding: first[0].key, as: UTF8.self))
                }
                #expect(counter.runs == test.runs, "reverse \(test.reverse), insert \(test.insert)")
                let expected = test.runs == 1 ? (test.reverse ? "item/5" : "item/1") : test.insert
                #expect(try a.string("first\(index)") == expected)
            }
            a.close()
            other.close()
        }
    }

    @Test func aReadTransactionSeesOneSnapshot() throws {
        try withTemporaryDirectory("snapshot") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try store.put("a", "1")
            try store.read { rtx throws in
                let sequence = rtx.sequence
                try other.put("a", "2")
                try other.put("b", "3")
                #expect(try rtx.string("a") == "1")
                #expect(try rtx.get("b") == nil)
                #expect(try rtx.scan() == [Self.kv("a", "1")])
                #expect(try rtx.count == 1)
                #expect(rtx.sequence == sequence)
                #expect(try store.string("a") == "2", "the store itself moves on")
            }
            store.close()
            other.close()
        }
    }
}
