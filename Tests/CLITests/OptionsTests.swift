import Testing

@Suite struct GlobalOptionTests {
    @Test func globalOptionsBeforeOrAfterTheCommand() {
        withFixture { f in
            #expect(CLI.run(["--store", f.store, "--durability", "paranoid", "put", "a", "1"]).status == 0)
            #expect(CLI.run(["put", "b", "2", "--store", f.store, "--durability=relaxed"]).status == 0)
            #expect(CLI.run(["put", "--store=\(f.store)", "c", "--lock-timeout", "2", "3"]).status == 0)
            #expect(CLI.run(["get", "a", "--store", f.store]).stdout == "1".bytes)
            #expect(
                CLI.run(["--json", "get", "b", "--store", f.store]).out == "{\"key\":\"b\",\"value\":\"2\"}\n"
            )
            #expect(
                CLI.run(["get", "--json", "c", "--store", f.store]).out == "{\"key\":\"c\",\"value\":\"3\"}\n"
            )
            #expect(
                CLI.run(["scan", "--store", f.store, "--keys-only", "--json"]).out
                    == "{\"key\":\"a\"}\n{\"key\":\"b\"}\n{\"key\":\"c\"}\n")
        }
    }

    @Test func doubleDashEndsOptions() {
        withFixture { f in
            #expect(f.run("put", "--", "--weird", "-v").status == 0)
            #expect(f.run("get", "--", "--weird").stdout == "-v".bytes)
            #expect(f.run("scan").out == "--weird\t-v\n")
            // A negative number is an argument, not an option.
            #expect(f.run("put", "n", "-5").status == 0)
            #expect(f.run("get", "n").stdout == "-5".bytes)
        }
    }

    @Test func storeFromLogbookDirThenDotLogbook() {
        withFixture { f in
            let env = ["LOGBOOK_DIR": f.store]
            #expect(CLI.run(["put", "k", "from-env"], env: env).status == 0)
            #expect(CLI.run(["get", "k"], env: env).stdout == "from-env".bytes)
            #expect(CLI.run(["--store", f.store, "get", "k"]).stdout == "from-env".bytes)
            // --store wins over LOGBOOK_DIR.
            let other = f.directory.at("other")
            #expect(CLI.run(["--store", other, "put", "k", "flag"], env: env).status == 0)
            #expect(CLI.run(["get", "k"], env: env).stdout == "from-env".bytes)
            #expect(CLI.run(["get", "k", "--store", other], env: env).stdout == "flag".bytes)
            // Neither: ./.logbook in the working directory, created by the first write only.
            let cwd = f.directory.at("work")
            TemporaryDirectory.makeDirectory(cwd)
            let missing = CLI.run(["get", "k"], cwd: cwd)
            #expect(missing.status == 1)
            #expect(missing.err == "logbook: key \"k\" not found: no store at ./.logbook\n")
            #expect(!TemporaryDirectory.exists(cwd + "/.logbook"))
            #expect(CLI.run(["put", "k", "cwd"], cwd: cwd).status == 0)
            #expect(TemporaryDirectory.exists(cwd + "/.logbook/log-1.wal"))
            #expect(CLI.run(["get", "k"], cwd: cwd).stdout == "cwd".bytes)
            #expect(CLI.run(["get", "k"], env: ["LOGBOOK_DIR": ""], cwd: cwd).stdout == "cwd".bytes)
            #expect(CLI.run(["get", "k"], env: env, cwd: cwd).stdout == "from-env".bytes)
        }
    }

    @Test func helpAndVersion() {
        for arguments in [["help"], ["--help"], ["-h"], ["put", "k", "--help"]] {
            let result = CLI.run(arguments)
            #expect(result.status == 0, "\(arguments)")
            #expect(result.stderr == [])
            #expect(result.out.contains("usage: logbook"), "\(arguments)")
        }
        let full = CLI.run(["help"]).out
        for command in [
            "put KEY VALUE", "get KEY", "delete KEY", "scan [--prefix P]", "batch [--each]",
            "incr KEY [BY]", "cas KEY (--expect V | --absent) --set V", "verify", "--lock-timeout",
        ] {
            #expect(full.contains(command), "\(command)")
        }
        #expect(CLI.run(["help", "incr"]).out.hasPrefix("usage: logbook [global options] incr KEY [BY]\n"))
        let version = CLI.run(["--version"])
        #expect(version.status == 0)
        #expect(version.out == "logbook 0.1.0\n")
        #expect(CLI.run(["--version", "--json"]).out == "{\"version\":\"0.1.0\"}\n")
        let none = CLI.run([])
        #expect(none.status == 2)
        #expect(none.stdout == [])
        #expect(none.err == "logbook: no command given; run `logbook help` for usage\n")
    }
}

@Suite struct UsageErrorTests {
    /// Runs `arguments` on a store holding a=1 and checks exit 2, the message, and that the
    /// store still holds exactly a=1.
    func expectUsageError(
        _ f: Fixture, _ arguments: [String], _ message: String, stdin: [UInt8] = [],
        env: [String: String] = [:]
    ) {
        let result = CLI.run(arguments, stdin: stdin, env: env)
        #expect(result.status == 2, "\(arguments)")
        #expect(result.stdout == [], "\(arguments)")
        #expect(result.err == "logbook: \(message)\n", "\(arguments)")
        #expect(f.run("scan").out == "a\t1\n")
    }

    @Test func badCommandLines() {
        withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            let s = f.store
            expectUsageError(
                f, ["--store", s, "frobnicate"],
                "unknown command 'frobnicate'; run `logbook help` for the list")
            expectUsageError(
                f, ["--store", s, "--bogus", "get", "a"],
                "unknown option --bogus (options of a command go after the command name)")
            expectUsageError(
                f, ["--store", s, "put", "a", "2", "--bogus"], "unknown option --bogus for `logbook put`")
            expectUsageError(f, ["--store", s, "put", "a", "2", "-x"], "unknown option -x for `logbook put`")
            expectUsageError(
                f, ["--store", s, "get", "a", "--reverse"], "unknown option --reverse for `logbook get`")
            expectUsageError(
                f, ["--store", s, "put", "a"], "missing arguments; usage: logbook put KEY VALUE")
            expectUsageError(
                f, ["--store", s, "put", "a", "2", "3"],
                "unexpected argument '3'; usage: logbook put KEY VALUE")
            expectUsageError(f, ["--store", s, "put", "a", "2", "--store"], "option --store needs a value")
            expectUsageError(
                f, ["--store", s, "put", "a", "2", "--json=yes"], "option --json takes no value")
            expectUsageError(
                f, ["--store", s, "--durability", "fast", "put", "a", "2"],
                "--durability must be relaxed, normal or paranoid, not 'fast'")
            expectUsageError(
                f, ["--store", s, "--lock-timeout", "soon", "put", "a", "2"],
                "--lock-timeout must be a number of seconds between 0 and 1000000000, not 'soon'")
            expectUsageError(
                f, ["--store", s, "--lock-timeout", "-1", "put", "a", "2"],
                "--lock-timeout must be a number of seconds between 0 and 1000000000, not '-1'")
            expectUsageError(
                f, ["--store", s, "--lock-timeout", "1e99", "put", "a", "2"],
                "--lock-timeout must be a number of seconds between 0 and 1000000000, not '1e99'")
            expectUsageError(
                f, ["--store", s, "put", "a", "2"],
                "LOGBOOK_LOCK_TIMEOUT must be a number of seconds between 0 and 1000000000, not 'nan'",
                env: ["LOGBOOK_LOCK_TIMEOUT": "nan"])
            expectUsageError(
                f, ["--store", "", "put", "a", "2"], "--store needs a directory path, got an empty string")
        }
    }

    @Test func limitsAreEnforcedBeforeAnythingIsWritten() {
        withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            let s = f.store
            let bigKey = String(repeating: "k", count: 4097)
            expectUsageError(f, ["--store", s, "put", bigKey, "v"], "key is 4097 bytes; the limit is 4096")
            expectUsageError(f, ["--store", s, "get", bigKey], "key is 4097 bytes; the limit is 4096")
            expectUsageError(f, ["--store", s, "put", "", "v"], "key is empty; keys are 1 to 4096 bytes")
            expectUsageError(f, ["--store", s, "incr", ""], "key is empty; keys are 1 to 4096 bytes")
            let bigValue = [UInt8](repeating: 0x61, count: (16 << 20) + 1)
            expectUsageError(
                f, ["--store", s, "put", "big", "-"],
                "the value on stdin is larger than the limit of 16777216 bytes", stdin: bigValue)
            // Exactly at the limits is fine.
            let maxKey = String(repeating: "k", count: 4096)
            #expect(f.run("put", maxKey, "-", stdin: Array(bigValue.dropLast())).status == 0)
            #expect(f.run("get", maxKey).stdout.count == 16 << 20)
            #expect(f.run("delete", maxKey).status == 0)
            // Nothing was created for a missing store either.
            let other = f.directory.at("other")
            #expect(CLI.run(["--store", other, "put", bigKey, "v"]).status == 2)
            #expect(!TemporaryDirectory.exists(other))
        }
    }

    @Test func storePathThatIsNotADirectory() {
        withFixture { f in
            let file = f.directory.at("file")
            TemporaryDirectory.write(file, "not a store".bytes)
            for arguments in [["put", "a", "1"], ["get", "a"], ["scan"], ["verify"], ["incr", "a"]] {
                let result = CLI.run(["--store", file] + arguments)
                #expect(result.status == 2, "\(arguments)")
                #expect(result.err == "logbook: store path \(file) exists and is not a directory\n")
            }
            #expect(TemporaryDirectory.read(file) == "not a store".bytes)
            let json = CLI.run(["--store", file, "--json", "put", "a", "1"])
            #expect(
                json.err
                    == "{\"error\":{\"code\":\"invalidArgument\",\"exit\":2,\"message\":\"store path \(file) exists and is not a directory\"}}\n"
            )
        }
    }

    @Test func jsonUsageErrorShape() {
        let result = CLI.run(["--json", "get"])
        #expect(result.status == 2)
        #expect(result.stdout == [])
        #expect(
            result.err
                == "{\"error\":{\"code\":\"invalidArgument\",\"exit\":2,\"message\":\"missing arguments; usage: logbook get KEY [KEY...]\"}}\n"
        )
        let after = CLI.run(["nope", "--json"])
        #expect(
            after.err
                == "{\"error\":{\"code\":\"invalidArgument\",\"exit\":2,\"message\":\"unknown command 'nope'; run `logbook help` for the list\"}}\n"
        )
    }

    @Test func ioErrorExitsSix() {
        withFixture { f in
            let store = f.directory.at("no/such/parent")
            let result = CLI.run(["--store", store, "put", "a", "1"])
            #expect(result.status == 6)
            #expect(result.err.hasPrefix("logbook: mkdir failed on \(store): "), "\(result.err)")
            let json = CLI.run(["--store", store, "--json", "put", "a", "1"])
            #expect(json.status == 6)
            #expect(
                json.err.hasPrefix(
                    "{\"error\":{\"code\":\"io\",\"exit\":6,\"message\":\"mkdir failed on \(store): "))
            #expect(json.err.hasSuffix(",\"path\":\"\(store)\"}}\n"))
        }
    }
}
