import Glibc
@_spi(Testing) import Logbook
import Testing

/// `stats`, `compact` and `lock`.
@Suite struct AdminTests {
    @Test func compactThenStatsAndVerify() throws {
        withFixture { f in
            for i in 1...30 { #expect(f.run("put", "k\(i)", "v\(i)").status == 0) }
            #expect(f.run("delete", "k3").status == 0)
            let compact = f.json("compact")
            #expect(compact.status == 0)
            #expect(compact.out.hasPrefix("{\"snapshot\":1,\"sequence\":31,\"keys\":29,\"bytes_before\":"))
            let stats = f.json("stats")
            #expect(stats.status == 0)
            #expect(stats.out.contains("\"keys\":29,\"live_bytes\":"))
            #expect(stats.out.contains("\"log_bytes\":32,"))
            #expect(stats.out.contains("\"generation\":2,\"snapshot\":1,\"last_sequence\":31,"))
            #expect(f.run("get", "k29").stdout == "v29".bytes)
            #expect(f.run("get", "k3").status == 1)
            let verify = f.run("verify")
            #expect(verify.status == 0)
            #expect(verify.out.hasPrefix("ok: 0 log records, 1 snapshot blocks (29 keys), "))
            let text = f.run("compact")
            #expect(text.status == 0)
            #expect(text.out.hasPrefix("compacted: snapshot-2, 29 keys, "))
            #expect(f.run("scan", "--keys-only", "--limit", "2").out == "k1\nk10\n")
            let lines = f.run("stats").out.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 10 && lines.last == "", "\(lines)")
            #expect(lines.first == "path          \(f.store)"[...])
            #expect(lines.contains("durability    normal"))
            #expect(lines.contains("keys          29"))
            #expect(lines.contains { $0.hasPrefix("live bytes    ") })
            #expect(lines.contains("log bytes     32"))
            #expect(lines.contains { $0.hasPrefix("snapshot      snapshot-2 (") && $0.hasSuffix(" bytes)") })
            #expect(lines.contains("generation    4"))
            #expect(lines.contains("last sequence 31"))
            #expect(lines.contains { $0.hasPrefix("cache         ") && $0.hasSuffix(" evictions") })
        }
    }

    /// Every CLI run but `get` replays the log since the last compaction, so the CLI's writes
    /// compact once the log holds 256 KiB (and a sixteenth of the snapshot); the library waits for
    /// 16 MiB.
    @Test func cliWritesKeepTheLogShort() throws {
        try withFixture { f in
            func fill(_ range: Range<Int>) throws {
                let store = try Store(
                    path: f.store, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
                defer { store.close() }
                for i in range { try store.put("k\(i)", String(repeating: "v", count: 100)) }
            }
            func stats() throws -> StoreStats {
                let store = try Store(path: f.store, options: StoreOptions(autoCompactLogBytes: nil))
                defer { store.close() }
                return try store.stats()
            }
            try fill(0..<1500)  // ~180 KiB of log: below the CLI's threshold
            #expect(f.run("put", "a", "1").status == 0)
            #expect(try stats().snapshot == 0, "no compaction below 256 KiB")
            try fill(1500..<3000)  // ~360 KiB
            #expect(f.run("put", "b", "2").status == 0)
            let after = try stats()
            #expect(after.snapshot > 0, "the CLI's put compacted")
            #expect(after.logBytes < 1000, "\(after.logBytes) bytes of log left")
            #expect(after.keys == 3002)
            #expect(f.run("get", "k2999").stdout == Array(repeating: UInt8(ascii: "v"), count: 100))
            #expect(f.run("get", "b").stdout == "2".bytes)
            // Reads never compact: a get of a store past the threshold leaves it as it is.
            try fill(3000..<6000)
            #expect(f.run("get", "k1").status == 0)
            #expect(f.run("scan", "--limit", "1").status == 0)
            #expect(try stats().logBytes > 256 << 10)
        }
    }

    /// On a store whose snapshot is larger than 4 MiB, the CLI's writes compact once the log
    /// holds more than a sixteenth of it, where a library handle waits for as much as the
    /// snapshot: the log each CLI run replays stays short on a large store too.
    @Test func cliWritesCompactAtASixteenthOfTheSnapshot() throws {
        try withFixture { f in
            func open(_ options: StoreOptions = StoreOptions(durability: .relaxed, autoCompactLogBytes: nil)) throws
                -> Store
            { try Store(path: f.store, options: options) }
            func fill(_ range: Range<Int>) throws {
                let store = try open()
                defer { store.close() }
                for i in range { try store.put("k\(i)", String(repeating: "v", count: 100)) }
            }
            func stats() throws -> StoreStats {
                let store = try open()
                defer { store.close() }
                return try store.stats()
            }
            try fill(0..<40_000)
            do {
                let store = try open()
                defer { store.close() }
                _ = try store.compact()  // a snapshot of ~4 MB
            }
            try fill(40_000..<50_000)  // ~1.2 MiB of log: past 256 KiB, under the snapshot's size
            let before = try stats()
            #expect(before.logBytes > 1 << 20 && before.logBytes < before.snapshotBytes)
            // A library handle with the CLI's threshold and the default divisor waits.
            do {
                let store = try open(
                    StoreOptions(durability: .relaxed, autoCompactLogBytes: 256 << 10, compactInBackground: false))
                defer { store.close() }
                try store.put("a", "1")
            }
            #expect(try stats().snapshot == before.snapshot, "the default rule waits for the snapshot's size")
            #expect(f.run("put", "b", "2").status == 0)
            let after = try stats()
            #expect(after.snapshot > before.snapshot, "the CLI's put compacted")
            #expect(after.logBytes < 1000, "\(after.logBytes) bytes of log left")
            #expect(after.keys == 50_002)
            #expect(f.run("get", "k49999").stdout == Array(repeating: UInt8(ascii: "v"), count: 100))
        }
    }

    @Test func adminCommandsOnAMissingStoreExit1() {
        withFixture { f in
            for command in ["stats", "compact", "lock"] {
                let result = f.run(command)
                #expect(result.status == 1, "\(command)")
                #expect(result.err == "logbook: no store at \(f.store)\n", "\(command)")
            }
        }
    }

    @Test func lockShowsTheHolder() throws {
        try withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            #expect(f.run("lock").out == "writer lock      free\ncompaction lock  free\nsync turn        free\n")
            let store = try Store(path: f.store, options: StoreOptions(programName: "lock-holder"))
            defer { store.close() }
            let held = try store.withWriterLockHeld { f.json("lock") }
            #expect(held.status == 0)
            #expect(
                held.out.hasPrefix(
                    "{\"path\":\"\(f.store)/LOCK\",\"writer\":{\"held\":true,\"pid\":\(getpid()),\"program\":\"lock-holder\",\"held_seconds\":"
                ))
            #expect(held.out.hasSuffix("\"alive\":true},\"compaction\":{\"held\":false},\"sync\":{\"held\":false}}\n"))
        }
    }
}
