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
            #expect(f.run("lock").out == "writer lock      free\ncompaction lock  free\n")
            let store = try Store(path: f.store, options: StoreOptions(programName: "lock-holder"))
            defer { store.close() }
            let held = try store.withWriterLockHeld { f.json("lock") }
            #expect(held.status == 0)
            #expect(
                held.out.hasPrefix(
                    "{\"path\":\"\(f.store)/LOCK\",\"writer\":{\"held\":true,\"pid\":\(getpid()),\"program\":\"lock-holder\",\"held_seconds\":"
                ))
            #expect(held.out.hasSuffix("\"alive\":true},\"compaction\":{\"held\":false}}\n"))
        }
    }
}
