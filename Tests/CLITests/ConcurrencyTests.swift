@_spi(Testing) import Logbook
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

@Suite struct ConcurrencyTests {
    @Test func lockTimeoutExitsFourNamingTheHolder() throws {
        try withFixture { f in
            let store = try Store(path: f.store, options: StoreOptions(programName: "cli-test-holder"))
            defer { store.close() }
            try store.put("a", "1")
            let pid = getpid()
            let (flag, env, json) = try store.withWriterLockHeld {
                (
                    f.run("--lock-timeout", "0.3", "put", "a", "2"),
                    f.run("incr", "n", env: ["LOGBOOK_LOCK_TIMEOUT": "0.2"]),
                    f.json("put", "a", "3", "--lock-timeout=0.25")
                )
            }
            #expect(flag.status == 4)
            #expect(flag.stdout == [])
            #expect(
                flag.err.hasPrefix(
                    "logbook: writer lock on \(f.store)/LOCK held by pid \(pid) (cli-test-holder) for "))
            #expect(flag.err.contains("gave up after 0.3 s"))
            #expect(env.status == 4)
            #expect(env.err.contains("held by pid \(pid) "))
            #expect(env.err.contains("gave up after 0.2 s"))
            #expect(json.status == 4)
            #expect(
                json.err.hasPrefix(
                    "{\"error\":{\"code\":\"lockTimeout\",\"exit\":4,\"message\":\"writer lock on "))
            #expect(json.err.contains("held by pid \(pid) "))
            // Nothing was written while the lock was held; reads never wait for it.
            #expect(f.run("get", "a").stdout == "1".bytes)
            #expect(f.run("get", "n").status == 1)
            // The flag beats the environment.
            let both = try store.withWriterLockHeld {
                f.run("--lock-timeout", "0.1", "put", "a", "4", env: ["LOGBOOK_LOCK_TIMEOUT": "100"])
            }
            #expect(both.status == 4)
            #expect(both.err.contains("gave up after 0.1 s"))
            // Released: writes go through.
            #expect(f.run("--lock-timeout", "0.3", "put", "a", "5").status == 0)
            #expect(try store.string("a") == "5")
        }
    }

    /// 8 concurrent shell loops, each running `logbook incr counter` 25 times: every increment
    /// lands exactly once, so the printed values are exactly 1...200.
    @Test func concurrentIncrementsFromEightProcesses() {
        withFixture { f in
            let loop =
                "i=0; while [ $i -lt 25 ]; do \"$0\" --store \"$1\" incr counter || exit 1; i=$((i+1)); done"
            let children = (0..<8).map { _ in
                Child(
                    executable: "/bin/sh",
                    arguments: ["-c", loop, CLI.binary, f.store].map { Array($0.utf8) },
                    environment: CLI.environment())
            }
            var printed: [Int] = []
            for child in children {
                let result = child.finish()
                #expect(result.status == 0)
                #expect(result.err == "")
                printed += result.out.split(separator: "\n").compactMap { Int($0) }
            }
            #expect(printed.count == 200)
            #expect(printed.sorted() == Array(1...200))
            #expect(f.run("get", "counter").stdout == "200".bytes)
            #expect(f.json("verify").out.contains("\"records\":200,"))
        }
    }
}
