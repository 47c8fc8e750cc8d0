import Logbook
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

    /// A scan larger than the output buffer (64 KiB), over a snapshot, the memtable above it and a
    /// tombstone, prints what the library's `scan` returns, in every format and direction.
    @Test func aLargeScanOverEveryLayerPrintsWhatTheLibraryReturns() throws {
        try withFixture { f in
            do {
                let store = try Store(path: f.store, options: StoreOptions(durability: .relaxed))
                defer { store.close() }
                for i in 0..<3000 { try store.put("k\(i)", String(repeating: "v", count: i % 90)) }
                _ = try store.compact()
                for i in stride(from: 0, to: 3000, by: 7) { try store.put("k\(i)", "new \(i)") }
                try store.delete("k10")
            }
            let store = try Store(path: f.store, options: StoreOptions(durability: .relaxed))
            defer { store.close() }
            for reverse in [false, true] {
                let pairs = try store.scan(ScanOptions(reverse: reverse))
                #expect(pairs.count == 2999)
                let flags: [String] = reverse ? ["--reverse"] : []
                let text: [UInt8] = pairs.flatMap { $0.key + [0x09] + $0.value + [0x0A] }
                #expect(text.count > 1 << 16)
                #expect(CLI.run(["--store", f.store, "scan"] + flags).stdout == text, "reverse \(reverse)")
                #expect(
                    CLI.run(["--store", f.store, "scan", "--keys-only"] + flags).stdout
                        == pairs.flatMap { (pair: KeyValue) -> [UInt8] in pair.key + [0x0A] })
                let json = CLI.run(["--store", f.store, "scan", "--json"] + flags)
                #expect(json.status == 0)
                #expect(json.out.split(separator: "\n").count == 2999)
                #expect(
                    json.out.hasPrefix(
                        reverse ? "{\"key\":\"k999\",\"value\":\"" : "{\"key\":\"k0\",\"value\":\"new 0\"}\n"))
            }
            #expect(
                f.run("scan", "--prefix", "k10", "--limit", "3").out
                    == "k100\t\(String(repeating: "v", count: 10))\nk1000\t\(String(repeating: "v", count: 10))\nk1001\tnew 1001\n"
            )
        }
    }
}
