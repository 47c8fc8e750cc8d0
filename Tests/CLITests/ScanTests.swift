import Testing

@Suite struct ScanTests {
    /// Keys a, b, ba, c, d, z, é (0xC3 0xA9 sorts after every ASCII key) with values 1...7.
    func populated(_ f: Fixture) {
        let lines = ["a", "b", "ba", "c", "d", "z", "é"].enumerated().map {
            "{\"op\":\"put\",\"key\":\"\($0.element)\",\"value\":\"\($0.offset + 1)\"}\n"
        }
        let batch = f.run("batch", stdin: lines.joined().bytes)
        #expect(batch.status == 0)
        #expect(batch.out == "{\"committed\":7}\n")
    }

    @Test func scansEverythingInByteOrder() {
        withFixture { f in
            populated(f)
            let all = f.run("scan")
            #expect(all.status == 0)
            #expect(all.out == "a\t1\nb\t2\nba\t3\nc\t4\nd\t5\nz\t6\né\t7\n")
            #expect(all.stderr == [])
        }
    }

    @Test func startIsInclusiveEndIsExclusive() {
        withFixture { f in
            populated(f)
            #expect(f.run("scan", "--start", "b", "--end", "d").out == "b\t2\nba\t3\nc\t4\n")
            #expect(f.run("scan", "--start=ba", "--end=ba").out == "")
            #expect(f.run("scan", "--start", "bb").out == "c\t4\nd\t5\nz\t6\né\t7\n")
            #expect(f.run("scan", "--end", "b").out == "a\t1\n")
        }
    }

    @Test func prefixLimitReverseAndKeysOnly() {
        withFixture { f in
            populated(f)
            #expect(f.run("scan", "--prefix", "b").out == "b\t2\nba\t3\n")
            #expect(f.run("scan", "--limit", "2").out == "a\t1\nb\t2\n")
            #expect(f.run("scan", "--limit", "0").out == "")
            #expect(f.run("scan", "--reverse", "--limit", "3").out == "é\t7\nz\t6\nd\t5\n")
            #expect(f.run("scan", "--reverse", "--start", "b", "--end", "d").out == "c\t4\nba\t3\nb\t2\n")
            #expect(f.run("scan", "--keys-only", "--prefix", "b").out == "b\nba\n")
            #expect(f.run("scan", "--prefix", "q").out == "")
        }
    }

    @Test func jsonLines() {
        withFixture { f in
            populated(f)
            let json = f.json("scan", "--start", "d")
            #expect(json.status == 0)
            #expect(
                json.out
                    == "{\"key\":\"d\",\"value\":\"5\"}\n{\"key\":\"z\",\"value\":\"6\"}\n{\"key\":\"é\",\"value\":\"7\"}\n"
            )
            #expect(f.json("scan", "--keys-only", "--end", "b").out == "{\"key\":\"a\"}\n")
        }
    }

    @Test func badLimitIsAUsageError() {
        withFixture { f in
            populated(f)
            for bad in ["-1", "x", "", "1.5", "+2"] {
                let result = f.run("scan", "--limit=\(bad)")
                #expect(result.status == 2, "--limit=\(bad)")
                #expect(result.stdout == [])
                #expect(result.err.hasPrefix("logbook: --limit must be a non-negative integer"))
            }
        }
    }
}
