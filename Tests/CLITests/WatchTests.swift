import Testing

@Suite struct WatchTests {
    /// Starts `count` writer processes that each increment `counter` `each` times.
    static func writers(_ f: Fixture, count: Int, each: Int) -> [Child] {
        (0..<count).map { _ in
            Child(
                executable: BackupTests.helper, arguments: ["incr".bytes, f.store.bytes, String(each).bytes],
                environment: [:])
        }
    }

    static func finish(_ children: [Child]) {
        for child in children {
            let result = child.finish()
            #expect(result.status == 0, "\(result.err)")
        }
    }

    @Test func seesEveryChangeOfFourWriterProcessesOnceInOrderAcrossACompaction() throws {
        try withFixture { f in
            #expect(f.run("put", "counter", "0").status == 0)  // sequence 1
            let watch = Child(
                executable: CLI.binary,
                arguments: [
                    "--store", f.store, "--json", "watch", "--since", "1", "--count", "500", "--values",
                ].map {
                    $0.bytes
                }, environment: CLI.environment())
            Self.finish(Self.writers(f, count: 4, each: 50))
            // A compaction while four processes write: the watcher must go from log-1 (sealed,
            // then deleted) to log-2 without losing or repeating a change.
            let during = Self.writers(f, count: 4, each: 50)
            let compact = f.json("compact")
            Self.finish(during)
            Self.finish(Self.writers(f, count: 4, each: 25))
            let result = watch.finish()
            #expect(result.status == 0, "\(result.err)")

            #expect(compact.status == 0, "\(compact.err)")
            let sealed = try #require(BackupTests.number("sequence", in: compact.out))
            #expect(sealed >= 201 && sealed <= 401)
            let lines = result.out.split(separator: "\n").map(String.init)
            #expect(lines.count == 500)
            for (i, line) in lines.enumerated() {
                let sequence = i + 2
                let value = String(sequence - 1)  // each commit is one increment
                let expected =
                    "{\"sequence\":\(sequence),\"op\":\"put\",\"key\":\"counter\",\"value_size\":\(value.count),\"value\":\"\(value)\"}"
                guard line == expected else {
                    Issue.record("line \(i + 1): \(line), expected \(expected)")
                    break
                }
            }
            // What was compacted away cannot be followed, and the error says so precisely.
            let old = f.run("watch", "--since", "1")
            #expect(old.status == 1)
            #expect(
                old.err
                    == "logbook: changes after sequence 1 are no longer in the log of \(f.store): commits up to "
                    + "\(sealed) were compacted into snapshot 1; follow from sequence \(sealed) or later\n")
        }
    }

    @Test func prefixDeletesAndTextOutput() {
        withFixture { f in
            #expect(f.run("put", "task/1", "open").status == 0)
            let watch = Child(
                executable: CLI.binary,
                arguments: ["--store", f.store, "watch", "--prefix", "task/", "--since", "1", "--count", "3"]
                    .map { $0.bytes },
                environment: CLI.environment())
            #expect(f.run("put", "other", "x").status == 0)
            #expect(f.run("put", "task/2", "new").status == 0)
            #expect(f.run("delete", "task/1").status == 0)
            #expect(f.run("put", "task/3", "").status == 0)
            let result = watch.finish()
            #expect(result.status == 0)
            #expect(
                result.out == "3 put \"task/2\" (3 bytes)\n4 delete \"task/1\"\n5 put \"task/3\" (0 bytes)\n")
        }
    }
}
