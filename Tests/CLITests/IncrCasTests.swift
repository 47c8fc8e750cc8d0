import Testing

@Suite struct IncrTests {
    @Test func incrementsADecimalCounter() {
        withFixture { f in
            let first = f.run("incr", "n")
            #expect(first.status == 0)
            #expect(first.out == "1\n")
            #expect(f.run("incr", "n", "5").out == "6\n")
            #expect(f.run("incr", "n", "-10").out == "-4\n")
            #expect(f.run("get", "n").stdout == "-4".bytes)
            let json = f.json("incr", "n", "+4")
            #expect(json.status == 0)
            #expect(json.out == "{\"key\":\"n\",\"value\":0}\n")
            // An existing decimal value, leading zeros and sign included.
            #expect(f.run("put", "m", "007").status == 0)
            #expect(f.run("incr", "m").out == "8\n")
        }
    }

    @Test func nonDecimalValueExitsThreeAndWritesNothing() {
        withFixture { f in
            for bad in ["hello", "12 ", "1.5", "", "1-", "99999999999999999999"] {
                #expect(f.run("put", "n", bad).status == 0)
                let incr = f.run("incr", "n")
                #expect(incr.status == 3, "value \(bad)")
                #expect(incr.stdout == [])
                #expect(
                    incr.err.hasPrefix(
                        "logbook: the value of key \"n\" in \(f.store) is not a decimal integer"))
                #expect(f.run("get", "n").stdout == bad.bytes)
            }
            let json = f.json("incr", "n")
            #expect(json.status == 3)
            #expect(
                json.err.hasPrefix(
                    "{\"error\":{\"code\":\"conflict\",\"exit\":3,\"message\":\"the value of key"))
        }
    }

    @Test func overflowExitsThree() {
        withFixture { f in
            #expect(f.run("put", "n", "9223372036854775807").status == 0)
            let incr = f.run("incr", "n")
            #expect(incr.status == 3)
            #expect(incr.err.contains("overflows"))
            #expect(f.run("get", "n").stdout == "9223372036854775807".bytes)
            #expect(f.run("incr", "n", "-9223372036854775807").out == "0\n")
        }
    }

    @Test func badIncrementIsAUsageError() {
        withFixture { f in
            let result = f.run("incr", "n", "two")
            #expect(result.status == 2)
            #expect(result.err == "logbook: BY must be a decimal integer, not \"two\"\n")
            #expect(!TemporaryDirectory.exists(f.store))
        }
    }
}

@Suite struct CasTests {
    @Test func absentThenExpect() {
        withFixture { f in
            let create = f.run("cas", "lock", "--absent", "--set", "me")
            #expect(create.status == 0)
            #expect(create.stdout == [] && create.stderr == [])
            #expect(f.run("get", "lock").stdout == "me".bytes)
            let again = f.run("cas", "lock", "--absent", "--set", "you")
            #expect(again.status == 3)
            #expect(again.err == "logbook: cas failed: key \"lock\" in \(f.store) exists\n")
            let wrong = f.run("cas", "lock", "--expect", "you", "--set", "them")
            #expect(wrong.status == 3)
            #expect(wrong.err == "logbook: cas failed: key \"lock\" in \(f.store) holds a different value\n")
            #expect(f.run("get", "lock").stdout == "me".bytes)
            let swap = f.json("cas", "lock", "--set", "you", "--expect", "me")
            #expect(swap.status == 0)
            #expect(swap.out == "{\"ok\":true}\n")
            #expect(f.run("get", "lock").stdout == "you".bytes)
            let gone = f.json("cas", "other", "--expect", "x", "--set", "y")
            #expect(gone.status == 3)
            #expect(
                gone.err
                    == "{\"error\":{\"code\":\"conflict\",\"exit\":3,\"message\":\"cas failed: key \\\"other\\\" in \(f.store) is absent, not the expected value\"}}\n"
            )
            #expect(f.run("get", "other").status == 1)
        }
    }

    @Test func needsExactlyOneConditionAndASetValue() {
        withFixture { f in
            #expect(f.run("put", "k", "v").status == 0)
            let both = f.run("cas", "k", "--expect", "v", "--absent", "--set", "w")
            #expect(both.status == 2)
            #expect(both.err == "logbook: cas needs exactly one of --expect V and --absent\n")
            #expect(f.run("cas", "k", "--set", "w").status == 2)
            let noSet = f.run("cas", "k", "--expect", "v")
            #expect(noSet.status == 2)
            #expect(noSet.err == "logbook: cas needs --set V\n")
            #expect(f.run("get", "k").stdout == "v".bytes)
        }
    }
}
