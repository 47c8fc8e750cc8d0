import Testing

@Suite struct BatchTests {
    @Test func allLinesCommitAsOneTransaction() {
        withFixture { f in
            #expect(f.run("put", "old", "x").status == 0)
            let input = """
                {"op":"put","key":"a","value":"1"}
                {"op":"check","key":"old","value":"x"}

                {"op":"check","key":"missing","value":null}
                {"op":"delete","key":"old"}
                  {"value":"2", "key":"b" ,"op":"put"}\r
                {"op":"put","key_base64":"AP8=","value_base64":"eAD/"}
                """
            let batch = f.run("batch", stdin: input.bytes)
            #expect(batch.status == 0)
            #expect(batch.out == "{\"committed\":6}\n")
            #expect(batch.stderr == [])
            #expect(
                f.run("scan").stdout == [0x00, 0xFF, 0x09, 0x78, 0x00, 0xFF, 0x0A] + "a\t1\nb\t2\n".bytes)
            // One transaction: one record after the first put's.
            #expect(f.json("verify").out.contains("\"records\":2,"))
        }
    }

    @Test func jsonEscapesAndUnicodeInInput() {
        withFixture { f in
            let input = #"{"op":"put","key":"k\u00e9\/","value":"a\"b\\c\n\t\u0000 \ud83d\ude00"}"# + "\n"
            #expect(f.run("batch", stdin: input.bytes).status == 0)
            #expect(f.run("get", "ké/").stdout == "a\"b\\c\n\t\u{0} 😀".bytes)
        }
    }

    @Test func failedCheckAbortsAndWritesNothing() {
        withFixture { f in
            #expect(f.run("put", "balance", "10").status == 0)
            let input = """
                {"op":"put","key":"a","value":"1"}
                {"op":"delete","key":"balance"}
                {"op":"check","key":"balance","value":"10"}
                {"op":"put","key":"b","value":"2"}
                """
            let batch = f.run("batch", stdin: input.bytes)
            #expect(batch.status == 3)
            #expect(batch.stdout == [])
            #expect(
                batch.err
                    == "logbook: check failed on line 3 of the batch input: key \"balance\" in \(f.store) is absent, "
                    + "expected \"10\"; nothing from this transaction was written\n")
            #expect(f.run("scan").out == "balance\t10\n")
            let absent = f.json(
                "batch",
                stdin: #"{"op":"put","key":"a","value":"1"}{"op":"check","key":"balance","value":null}"#.bytes
            )
            #expect(absent.status == 2)  // two objects on one line: malformed
            let json = f.json(
                "batch",
                stdin:
                    "{\"op\":\"put\",\"key\":\"a\",\"value\":\"1\"}\n{\"op\":\"check\",\"key\":\"balance\",\"value\":null}\n"
                    .bytes)
            #expect(json.status == 3)
            #expect(
                json.err.hasPrefix(
                    "{\"error\":{\"code\":\"conflict\",\"exit\":3,\"message\":\"check failed on line 2"))
            #expect(f.run("scan").out == "balance\t10\n")
        }
    }

    @Test func malformedLinesExitTwoNamingTheLineAndWriteNothing() {
        withFixture { f in
            #expect(f.run("put", "keep", "1").status == 0)
            let good = #"{"op":"put","key":"a","value":"1"}"#
            let cases: [(String, String)] = [
                (
                    #"{"op":"put","key":"a","value":"1",}"#,
                    "malformed JSON at column 35: expected a string as object member name"
                ),
                (#"{"op":"put","key":"a","value":"1"} x"#, "unexpected text after the JSON value"),
                (#"{"op":"put","key":"a","value":01}"#, "leading zero"),
                (#"{"op":"put","key":"a","value":"\x"}"#, "invalid escape"),
                (#"{"op":"put","key":"a","value":"\ud800"}"#, "lone high surrogate"),
                (#"{"op":"put","key":"a","key":"b","value":"1"}"#, "duplicate member name \"key\""),
                (#"["op","put"]"#, "expected a JSON object"),
                (#"{"op":"merge","key":"a","value":"1"}"#, "unknown op \"merge\""),
                (#"{"op":"put","key":"a","value":"1","ttl":3}"#, "unknown field \"ttl\""),
                (#"{"op":"put","key":"a"}"#, "put needs \"value\""),
                (#"{"op":"put","key":"a","value":5}"#, "\"value\" must be a string"),
                (#"{"op":"delete","key":"a","value":"1"}"#, "delete takes no \"value\""),
                (#"{"op":"check","key":"a"}"#, "check needs \"value\""),
                (#"{"op":"put","value":"1"}"#, "\"key\" is missing"),
                (#"{"op":"put","key":"","value":"1"}"#, "key is empty"),
                (#"{"op":"put","key":"a","value_base64":"eAD"}"#, "not valid base64"),
                (#"{"op":"put","key":"a","value":"1","value_base64":"eAD/"}"#, "not both"),
                ("{\"op\":\"put\",\"key\":\"a\",\"value\":\"raw\ttab\"}", "raw control character"),
            ]
            for (line, reason) in cases {
                let input = good + "\n\n" + line + "\n" + good + "\n"
                for flags in [["batch"], ["batch", "--each"]] {
                    let result = CLI.run(["--store", f.store] + flags, stdin: input.bytes)
                    #expect(result.status == 2, "\(line)")
                    #expect(result.stdout == [], "\(line)")
                    #expect(
                        result.err.hasPrefix("logbook: line 3 of the batch input: "), "\(line): \(result.err)"
                    )
                    #expect(result.err.contains(reason), "\(line): \(result.err)")
                }
            }
            // Invalid UTF-8 inside a string.
            let binary = Array(#"{"op":"put","key":"a","value":""#.utf8) + [0xFF] + Array("\"}\n".utf8)
            let result = f.run("batch", stdin: binary)
            #expect(result.status == 2)
            #expect(
                result.err.contains("line 1 of the batch input: malformed JSON at column 32: invalid UTF-8"))
            let json = f.json("batch", stdin: "nope\n".bytes)
            #expect(json.status == 2)
            #expect(
                json.err.hasPrefix(
                    "{\"error\":{\"code\":\"invalidArgument\",\"exit\":2,\"message\":\"line 1 of the batch input"
                ))
            #expect(f.run("scan").out == "keep\t1\n")
        }
    }

    @Test func oversizedKeyOrValueInABatchExitsTwo() {
        withFixture { f in
            let key = String(repeating: "k", count: 4097)
            let result = f.run("batch", stdin: "{\"op\":\"put\",\"key\":\"\(key)\",\"value\":\"v\"}\n".bytes)
            #expect(result.status == 2)
            #expect(
                result.err == "logbook: line 1 of the batch input: key is 4097 bytes; the limit is 4096\n")
            #expect(!TemporaryDirectory.exists(f.store))
        }
    }

    @Test func emptyInputCommitsNothing() {
        withFixture { f in
            let result = f.run("batch", stdin: "\n  \n".bytes)
            #expect(result.status == 0)
            #expect(result.out == "{\"committed\":0}\n")
            let each = f.run("batch", "--each")
            #expect(each.status == 0 && each.stdout == [])
            #expect(!TemporaryDirectory.exists(f.store))
        }
    }

    @Test func eachLineIsItsOwnTransaction() {
        withFixture { f in
            let input = """
                {"op":"put","key":"a","value":"1"}

                {"op":"put","key_base64":"AP8=","value":"2"}
                {"op":"check","key":"a","value":"1"}
                {"op":"delete","key":"a"}
                """
            let each = f.run("batch", "--each", stdin: input.bytes)
            #expect(each.status == 0)
            #expect(
                each.out
                    == "{\"committed\":1,\"key\":\"a\"}\n{\"committed\":3,\"key_base64\":\"AP8=\"}\n"
                    + "{\"committed\":4,\"key\":\"a\"}\n{\"committed\":5,\"key\":\"a\"}\n")
            #expect(each.stderr == [])
            #expect(f.run("scan", "--keys-only").stdout == [0x00, 0xFF, 0x0A])
            // Three records: the check alone writes nothing.
            #expect(f.json("verify").out.contains("\"records\":3,"))
        }
    }

    @Test func eachStopsAtAFailedCheckKeepingEarlierLines() {
        withFixture { f in
            let input = """
                {"op":"put","key":"a","value":"1"}
                {"op":"put","key":"b","value":"2"}
                {"op":"check","key":"a","value":"2"}
                {"op":"put","key":"c","value":"3"}
                """
            let each = f.run("batch", "--each", stdin: input.bytes)
            #expect(each.status == 3)
            #expect(each.out == "{\"committed\":1,\"key\":\"a\"}\n{\"committed\":2,\"key\":\"b\"}\n")
            #expect(each.err.hasPrefix("logbook: check failed on line 3 of the batch input: key \"a\""))
            #expect(f.run("scan").out == "a\t1\nb\t2\n")
        }
    }

    @Test func batchTakesNoArguments() {
        withFixture { f in
            let result = f.run("batch", "extra")
            #expect(result.status == 2)
            #expect(result.err == "logbook: unexpected argument 'extra'; usage: logbook batch [--each]\n")
        }
    }
}
