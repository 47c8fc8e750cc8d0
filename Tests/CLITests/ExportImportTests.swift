import Testing

@Suite struct ExportImportTests {
    /// Every kind of pair: text, empty value, binary key and value, JSON escapes, a large value.
    static let pairs: [([UInt8], [UInt8])] = [
        ("a".bytes, "1".bytes),
        ("empty".bytes, []),
        ([0x00, 0xFF], [0x78, 0x00, 0xFF]),
        ("bin/value".bytes, [0xC3, 0x28, 0x0A, 0x00]),
        ("quote\"\\\n".bytes, "tab\t\"x\"\u{1}".bytes),
        ("big".bytes, [UInt8]((0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 7) })),
        ("ké😀".bytes, "ünïcode".bytes),
    ]

    static func fill(_ f: Fixture) {
        var input: [UInt8] = []
        for (key, value) in pairs {
            input +=
                #"{"op":"put","key_base64":""#.bytes + base64(key) + #"","value_base64":""#.bytes
                + base64(value) + "\"}\n".bytes
        }
        #expect(f.run("batch", stdin: input).status == 0)
    }

    @Test func roundTripsEveryPairThroughAFile() {
        withFixture { f in
            Self.fill(f)
            let file = f.directory.at("export.jsonl")
            let export = f.run("export", "--out", file)
            #expect(export.status == 0)
            #expect(export.out == "exported 7 pairs as of sequence 1 to \(file)\n")
            #expect(!TemporaryDirectory.exists(file + ".tmp"))
            let target = f.directory.at("copy")
            let imported = CLI.run(["--store", target, "import", file, "--batch", "3"])
            #expect(imported.status == 0)
            #expect(imported.out == "imported 7 pairs in 3 batches\n")
            let original = f.run("scan", "--json")
            let copy = CLI.run(["--store", target, "scan", "--json"])
            #expect(original.status == 0)
            #expect(copy.stdout == original.stdout)
            #expect(TemporaryDirectory.read(file) == original.stdout)
            for (key, value) in Self.pairs where !key.contains(0) {  // argv cannot carry NUL
                #expect(CLI.runBytes(["--store".bytes, target.bytes, "get".bytes, key]).stdout == value)
            }
            // Three batches, three commits; running it again changes nothing that can be read.
            #expect(CLI.run(["--store", target, "--json", "verify"]).out.contains("\"records\":3,"))
            #expect(CLI.run(["--store", target, "import", file]).status == 0)
            #expect(CLI.run(["--store", target, "scan", "--json"]).stdout == original.stdout)
        }
    }

    @Test func exportToStdoutWithPrefixAndJSONSummary() {
        withFixture { f in
            #expect(f.run("put", "task/1", "open").status == 0)
            #expect(f.run("put", "task/2", "done").status == 0)
            #expect(f.run("put", "zzz", "other").status == 0)
            let export = f.run("export", "--prefix", "task/")
            #expect(export.status == 0)
            #expect(
                export.out
                    == "{\"key\":\"task/1\",\"value\":\"open\"}\n{\"key\":\"task/2\",\"value\":\"done\"}\n")
            let file = f.directory.at("e.jsonl")
            let json = f.json("export", "--out", file)
            #expect(json.out == "{\"exported\":3,\"sequence\":3,\"file\":\"\(file)\"}\n")
            // stdin import
            let target = f.directory.at("copy")
            let imported = CLI.run(["--store", target, "--json", "import", "-"], stdin: export.stdout)
            #expect(imported.out == "{\"imported\":2,\"batches\":1}\n")
            #expect(CLI.run(["--store", target, "scan"]).out == "task/1\topen\ntask/2\tdone\n")
        }
    }

    @Test func malformedLineExits2NamingItAndWritesNothing() {
        withFixture { f in
            let file = f.directory.at("bad.jsonl")
            let cases: [(String, String)] = [
                (
                    "{\"key\":\"a\",\"value\":\"1\"}\n\n{\"key\":\"b\",\"value\":",
                    "line 3 of \(file): malformed JSON at column 20: unexpected end of input"
                ),
                (
                    "{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"b\"}\n",
                    "line 2 of \(file): \"value\" is missing"
                ),
                ("{\"key\":\"a\",\"value\":\"1\",\"op\":\"x\"}\n", "line 1 of \(file): unknown field \"op\""),
                ("{\"key\":\"\",\"value\":\"1\"}\n", "line 1 of \(file): key is empty"),
                (
                    "{\"key\":\"a\",\"value_base64\":\"!!\"}\n",
                    "line 1 of \(file): \"value_base64\" is not valid base64"
                ),
                ("[1]\n", "line 1 of \(file): expected a JSON object"),
                ("{\"key\":\"a\",\"value\":1}\n", "line 1 of \(file): \"value\" must be a string"),
            ]
            for (text, message) in cases {
                TemporaryDirectory.write(file, text.bytes)
                let result = f.run("import", file)
                #expect(result.status == 2)
                #expect(result.err.hasPrefix("logbook: " + message), "\(result.err)")
                #expect(result.err.hasSuffix("nothing was imported\n"))
                #expect(!TemporaryDirectory.exists(f.store))  // not even created
            }
            let missing = f.run("import", f.directory.at("nope"))
            #expect(missing.status == 1)
            #expect(f.run("import").status == 2)
            #expect(f.run("import", file, "--batch", "0").status == 2)
            #expect(f.run("export").status == 1)  // no store
        }
    }
}

/// Standard base64 of `bytes`, for building test input.
func base64(_ bytes: [UInt8]) -> [UInt8] {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        let chunk = Array(bytes[i..<min(i + 3, bytes.count)])
        let n = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << UInt32(16 - 8 * $1.offset) }
        for k in 0..<4 {
            out.append(k <= chunk.count ? alphabet[Int(n >> UInt32(18 - 6 * k) & 63)] : UInt8(ascii: "="))
        }
        i += 3
    }
    return out
}

extension ExportImportTests {
    @Test func aLargeExportWhileWritersKeepGoingIsOneConsistentView() throws {
        try withFixture { f in
            var input: [UInt8] = []
            for i in 0..<2500 { input += "{\"op\":\"put\",\"key\":\"k/\(i)\",\"value\":\"\(i)\"}\n".bytes }
            #expect(f.run("batch", stdin: input).status == 0)  // sequence 1
            #expect(f.run("put", "counter", "0").status == 0)  // sequence 2
            let stop = f.directory.at("stop")
            let writers = (0..<2).map { _ in
                Child(
                    executable: BackupTests.helper,
                    arguments: ["incr-until".bytes, f.store.bytes, stop.bytes], environment: [:])
            }
            try BackupTests.waitForCounter(f.store, atLeast: 10)
            let file = f.directory.at("export.jsonl")
            let export = f.json("export", "--out", file)
            TemporaryDirectory.write(stop, [])
            for writer in writers { #expect(writer.finish().status == 0) }
            #expect(export.status == 0, "\(export.err)")
            #expect(BackupTests.number("exported", in: export.out) == 2501)
            let sequence = try #require(BackupTests.number("sequence", in: export.out))
            let lines = String(decoding: TemporaryDirectory.read(file), as: UTF8.self).split(separator: "\n")
            #expect(lines.count == 2501)
            // The counter as of the export's sequence number: one increment per commit after the second.
            #expect(lines.first == "{\"key\":\"counter\",\"value\":\"\(sequence - 2)\"}")
            #expect(sequence >= 12)
            let target = f.directory.at("copy")
            #expect(CLI.run(["--store", target, "import", file]).out == "imported 2501 pairs in 3 batches\n")
            let keys = CLI.run(["--store", target, "scan", "--prefix", "k/", "--keys-only"]).out.split(
                separator: "\n")
            #expect(keys.count == 2500)
            #expect(Set(keys.map(String.init)) == Set((0..<2500).map { "k/\($0)" }))
        }
    }
}
