// A torn tail on a real store: the log cut at every byte of its last record opens to exactly
// the commits before it; the next writer cuts the tail off and appends after the prefix.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct TornTailTests {
    @Test func logCutAtEveryByteOfTheLastRecordOpensToThePrefixAndTheNextWriteAppendsAfterIt() throws {
        try withTemporaryDirectory("torn") { dir in
            let history: SampleHistory
            do {
                let store = try Store(path: dir.store, options: relaxedWrites())
                history = try SampleHistory.commit(to: store)
                store.close()
            }
            let full = Disk.read(dir.log)
            #expect(full.count == history.end)
            let n = history.count
            let last = history.starts[n - 1]
            let prefix = history.states[n - 1]
            let newRecord = LogFormat.encode(
                LogRecord(sequence: UInt64(n), mutations: [.put(key: b("new"), value: b("v"))]))
            var afterNew = prefix + [KeyValue(key: b("new"), value: b("v"))]
            afterNew.sort { keyLess($0.key, $1.key) }

            for cut in last..<full.count {
                Disk.write(dir.log, Array(full[..<cut]))

                let reader = try Store(path: dir.store, options: relaxed())
                #expect(try reader.scan() == prefix, "cut at \(cut)")
                #expect(try reader.stats().lastSequence == UInt64(n - 1))
                #expect(try reader.stats().logBytes == UInt64(last))
                let report = try reader.verify()
                #expect(report.records == n - 1)
                #expect(report.tornTail?.offset == (cut > last ? UInt64(last) : nil), "cut at \(cut)")
                #expect(report.tornTail?.length == (cut > last ? UInt64(cut - last) : nil), "cut at \(cut)")
                #expect(Disk.size(dir.log) == cut, "opening and reading never changes the log")

                // The next writer (another handle) truncates the tail and appends record n.
                let writer = try Store(path: dir.store, options: relaxedWrites())
                try writer.put("new", "v")
                let log = Disk.read(dir.log)
                #expect(log.count == last + newRecord.count, "cut at \(cut)")
                #expect(Array(log[..<last]) == Array(full[..<last]))
                #expect(Array(log[last...]) == newRecord, "cut at \(cut)")
                #expect(try reader.scan() == afterNew, "the reader sees the new commit on its next read")
                #expect(
                    try writer.verify()
                        == VerifyReport(
                            files: [dir.log], records: n, blocks: 0, snapshotKeys: 0, bytes: UInt64(log.count),
                            tornTail: nil))
                reader.close()
                writer.close()

                let reopened = try Store(path: dir.store, options: relaxed())
                #expect(try reopened.scan() == afterNew, "cut at \(cut)")
                reopened.close()
            }
        }
    }

    /// A crash while appending a large binary value: the value's bytes look like record headers
    /// at every fourth offset (length 1 MiB + 1, type 1), so judging the torn tail must not
    /// checksum a megabyte at each of them. Before the fix this log took about 45 s to open
    /// (and as long again for verify and for the next write); a 16 MiB value, about an hour.
    /// The time limit turns such a regression into a failure; the assertions are exact.
    @Test(.timeLimit(.minutes(1)))
    func aTornValueThatLooksLikeRecordHeadersIsJudgedAsATornTail() throws {
        try withTemporaryDirectory("lookalike") { dir in
            let pattern: [UInt8] = [0x01, 0x00, 0x10, 0x00]
            var value = pattern
            while value.count < 1 << 20 { value += value }
            value += value[0..<(256 << 10)]
            let last: Int
            do {
                let store = try Store(path: dir.store, options: relaxedWrites())
                try store.put("a", "1")
                last = Int(try store.stats().logBytes)
                try store.put(b("big"), value)
                store.close()
            }
            Disk.truncate(dir.log, to: Disk.size(dir.log) - 10)
            let store = try Store(path: dir.store, options: relaxedWrites())
            #expect(try store.scan() == [KeyValue(key: b("a"), value: b("1"))])
            #expect(try store.verify().tornTail?.offset == UInt64(last))
            try store.put("b", "2")
            #expect(
                Disk.size(dir.log) == last
                    + LogFormat.encode(LogRecord(sequence: 2, mutations: [.put(key: b("b"), value: b("2"))])).count)
            store.close()
        }
    }

    /// The same with normal durability and one handle that reads the torn log and then writes.
    @Test func theHandleThatOpenedATornLogTruncatesItOnItsFirstWrite() throws {
        try withTemporaryDirectory("torn1") { dir in
            let history: SampleHistory
            do {
                let store = try Store(path: dir.store)
                history = try SampleHistory.commit(to: store)
                store.close()
            }
            let full = Disk.content(dir.log)
            let last = history.starts[history.count - 1]
            for cut in [last + 1, last + 8, last + 9, last + 20, full.count - 1] {
                Disk.write(dir.log, Array(full[..<cut]))
                let store = try Store(path: dir.store)
                #expect(try store.scan() == history.states[history.count - 1])
                try store.put("b", "after")
                #expect(try store.string("b") == "after")
                #expect(try store.get("z") == nil)
                #expect(try store.verify().records == history.count)
                #expect(try store.verify().tornTail == nil)
                store.close()
                let reopened = try Store(path: dir.store)
                #expect(try reopened.string("b") == "after")
                #expect(try reopened.get("e") == nil, "nothing of the torn transaction survives")
                #expect(try reopened.string("c") == "3")
                reopened.close()
            }
        }
    }
}
