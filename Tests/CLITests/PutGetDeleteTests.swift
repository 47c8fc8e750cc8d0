import Testing

@Suite struct PutGetDeleteTests {
    @Test func putThenGetWritesTheExactBytes() {
        withFixture { f in
            let put = f.run("put", "greeting", "hello world")
            #expect(put.status == 0)
            #expect(put.stdout == [])
            #expect(put.stderr == [])
            let get = f.run("get", "greeting")
            #expect(get.status == 0)
            #expect(get.stdout == "hello world".bytes)  // no newline added
            #expect(get.stderr == [])
            // Values with a trailing newline keep it; an empty value is empty output.
            #expect(f.run("put", "nl", "line\n").status == 0)
            #expect(f.run("get", "nl").stdout == "line\n".bytes)
            #expect(f.run("put", "empty", "").status == 0)
            let empty = f.run("get", "empty")
            #expect(empty.status == 0 && empty.stdout == [])
            // Overwrite.
            #expect(f.run("put", "greeting", "bye").status == 0)
            #expect(f.run("get", "greeting").stdout == "bye".bytes)
        }
    }

    @Test func jsonOutputOfPutAndGet() {
        withFixture { f in
            let put = f.json("put", "k", "v \"quoted\" \\ tab\t nl\n ctl\u{01} é")
            #expect(put.status == 0)
            #expect(put.out == "{\"ok\":true}\n")
            let get = f.json("get", "k")
            #expect(get.status == 0)
            #expect(
                get.out == "{\"key\":\"k\",\"value\":\"v \\\"quoted\\\" \\\\ tab\\t nl\\n ctl\\u0001 é\"}\n")
        }
    }

    @Test func binaryValueRoundTripsThroughStdin() {
        withFixture { f in
            var value: [UInt8] = []
            for i in 0..<3 { value += (0...255).map { UInt8($0) }.shuffled() + [UInt8(i)] }
            value += [0x0A, 0x00, 0xFF]
            let put = f.run("put", "blob", "-", stdin: value)
            #expect(put.status == 0)
            #expect(put.stderr == [])
            let get = f.run("get", "blob")
            #expect(get.status == 0)
            #expect(get.stdout == value)
            // Not UTF-8: --json carries it as base64.
            #expect(f.run("put", "bad", "-", stdin: [0x78, 0x00, 0xFF]).status == 0)
            #expect(f.json("get", "bad").out == "{\"key\":\"bad\",\"value_base64\":\"eAD/\"}\n")
            // Empty stdin stores an empty value.
            #expect(f.run("put", "none", "-").status == 0)
            let none = f.run("get", "none")
            #expect(none.status == 0 && none.stdout == [])
        }
    }

    @Test func binaryArgumentsAreTakenByteForByte() {
        withFixture { f in
            let key: [UInt8] = [0x6B, 0xFE, 0x01]
            let value: [UInt8] = [0xC3, 0x28, 0x7F]
            let put = CLI.runBytes(["--store".bytes, f.store.bytes, "put".bytes, key, value])
            #expect(put.status == 0)
            let get = CLI.runBytes(["--store".bytes, f.store.bytes, "get".bytes, key])
            #expect(get.stdout == value)
            let scan = f.json("scan")
            #expect(scan.out == "{\"key_base64\":\"a/4B\",\"value_base64\":\"wyh/\"}\n")
        }
    }

    @Test func getOfAnAbsentKeyExitsOne() {
        withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            let get = f.run("get", "nope")
            #expect(get.status == 1)
            #expect(get.stdout == [])
            #expect(get.err == "logbook: key \"nope\" not found in \(f.store)\n")
            let json = f.json("get", "nope")
            #expect(json.status == 1)
            #expect(json.stdout == [])
            #expect(
                json.err
                    == "{\"error\":{\"code\":\"notFound\",\"exit\":1,\"message\":\"key \\\"nope\\\" not found in \(f.store)\"}}\n"
            )
        }
    }

    @Test func getOfSeveralKeysWritesALineEachInTheOrderGiven() {
        withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            #expect(f.run("put", "b", "two words").status == 0)
            #expect(f.run("put", "empty", "").status == 0)
            let both = f.run("get", "b", "a", "empty", "b")
            #expect(both.status == 0 && both.stderr == [])
            #expect(both.out == "b\ttwo words\na\t1\nempty\t\nb\ttwo words\n")
            // Absent keys: no text line, a null in JSON, exit 1 naming them.
            let some = f.run("get", "a", "x", "b", "y")
            #expect(some.status == 1)
            #expect(some.out == "a\t1\nb\ttwo words\n")
            #expect(some.err == "logbook: keys \"x\", \"y\" not found in \(f.store)\n")
            let json = f.json("get", "x", "a", "b")
            #expect(json.status == 1)
            #expect(
                json.out
                    == "{\"key\":\"x\",\"value\":null}\n{\"key\":\"a\",\"value\":\"1\"}\n"
                    + "{\"key\":\"b\",\"value\":\"two words\"}\n")
            #expect(json.err.contains("\"code\":\"notFound\"") && json.err.contains("key \\\"x\\\" not found"))
            #expect(f.json("get", "a", "b").status == 0)
            // Many absent keys: the first five by name, the rest counted.
            let many = f.run("get", "a", "m1", "m2", "m3", "m4", "m5", "m6", "m7")
            #expect(many.status == 1 && many.out == "a\t1\n")
            #expect(
                many.err == "logbook: keys \"m1\", \"m2\", \"m3\", \"m4\", \"m5\" and 2 more not found in \(f.store)\n")
            // A bad key anywhere is a usage error before anything is read.
            let empty = f.run("get", "a", "")
            #expect(empty.status == 2 && empty.stdout == [])
            #expect(empty.err == "logbook: key 2: key is empty; keys are 1 to 4096 bytes\n")
            let none = f.run("--store", f.store + "-none", "get", "a", "b")
            #expect(none.status == 1)
            #expect(none.err == "logbook: keys not found: no store at \(f.store)-none\n")
        }
    }

    @Test func deleteReportsWhetherTheKeyExisted() {
        withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            let first = f.run("delete", "a")
            #expect(first.status == 0)
            #expect(first.stdout == [] && first.stderr == [])
            #expect(f.run("get", "a").status == 1)
            let again = f.run("delete", "a")
            #expect(again.status == 0 && again.stdout == [])
            #expect(f.run("put", "b", "2").status == 0)
            #expect(f.json("delete", "b").out == "{\"deleted\":true}\n")
            let absent = f.json("delete", "b")
            #expect(absent.status == 0)
            #expect(absent.out == "{\"deleted\":false}\n")
        }
    }

    @Test func readCommandsNeverCreateAMissingStore() {
        withFixture { f in
            let get = f.run("get", "a")
            #expect(get.status == 1)
            #expect(get.err == "logbook: key \"a\" not found: no store at \(f.store)\n")
            let scan = f.run("scan")
            #expect(scan.status == 0 && scan.stdout == [] && scan.stderr == [])
            #expect(f.json("scan").stdout == [])
            let delete = f.json("delete", "a")
            #expect(delete.status == 0 && delete.out == "{\"deleted\":false}\n")
            let verify = f.run("verify")
            #expect(verify.status == 1)
            #expect(verify.err == "logbook: no store at \(f.store)\n")
            let cas = f.run("cas", "a", "--expect", "1", "--set", "2")
            #expect(cas.status == 3)
            #expect(!TemporaryDirectory.exists(f.store))
            // The first write creates it.
            #expect(f.run("put", "a", "1").status == 0)
            #expect(TemporaryDirectory.exists(f.log))
        }
    }
}
