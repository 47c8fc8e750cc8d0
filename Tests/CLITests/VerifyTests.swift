import Testing

@Suite struct VerifyTests {
    /// Four puts of two-byte keys and values: 32-byte records at offsets 32, 64, 96 and 128
    /// after the 32-byte segment header (9-byte frame + 23-byte payload each), then the zeros
    /// the writer allocated ahead, up to 64 KiB.
    func fourRecords(_ f: Fixture) {
        for i in 1...4 { #expect(f.run("put", "k\(i)", "v\(i)").status == 0) }
        #expect(TemporaryDirectory.content(f.log).count == 160)
        #expect(TemporaryDirectory.read(f.log).count == 65536)
    }

    @Test func cleanStore() {
        withFixture { f in
            fourRecords(f)
            let text = f.run("verify")
            #expect(text.status == 0)
            #expect(text.out == "ok: 4 log records, 0 snapshot blocks (0 keys), 160 bytes checked in \(f.log)\n")
            #expect(text.stderr == [])
            let json = f.json("verify")
            #expect(json.status == 0)
            #expect(
                json.out
                    == "{\"ok\":true,\"files\":[\"\(f.log)\"],\"records\":4,\"blocks\":0,\"snapshot_keys\":0,\"bytes\":160,\"torn_tail\":null}\n"
            )
        }
    }

    @Test func flippedByteMidLogExitsFiveNamingFileAndOffset() {
        withFixture { f in
            fourRecords(f)
            var bytes = TemporaryDirectory.read(f.log)
            bytes[64 + 20] ^= 0x40  // inside the second record's payload; two valid records follow
            TemporaryDirectory.write(f.log, bytes)

            let verify = f.run("verify")
            #expect(verify.status == 5)
            #expect(verify.stdout == [])
            #expect(verify.err.hasPrefix("logbook: checksum mismatch"), "\(verify.err)")
            #expect(verify.err.contains("in \(f.log) at offset 64"), "\(verify.err)")
            #expect(verify.err.hasSuffix("\n") && verify.err.filter { $0 == "\n" }.count == 1)

            let json = f.json("verify")
            #expect(json.status == 5)
            #expect(
                json.err.hasPrefix(
                    "{\"error\":{\"code\":\"corrupted\",\"exit\":5,\"message\":\"checksum mismatch"))
            #expect(json.err.hasSuffix(",\"path\":\"\(f.log)\",\"offset\":64}}\n"), "\(json.err)")

            // Every other command refuses the damaged store the same way, and returns no data.
            for arguments in [["get", "k1"], ["scan"], ["put", "k5", "v5"], ["incr", "n"]] {
                let result = CLI.run(["--store", f.store] + arguments)
                #expect(result.status == 5, "\(arguments)")
                #expect(result.stdout == [], "\(arguments)")
                #expect(result.err.contains("\(f.log) at offset 64"), "\(arguments)")
            }
            #expect(TemporaryDirectory.read(f.log) == bytes)
        }
    }

    @Test func tornTailIsReportedNotDamage() {
        withFixture { f in
            fourRecords(f)
            let bytes = TemporaryDirectory.read(f.log)
            TemporaryDirectory.write(f.log, Array(bytes.prefix(150)))  // the last record cut short (and the zeros)
            let verify = f.run("verify")
            #expect(verify.status == 0)
            #expect(
                verify.out
                    == "ok: 3 log records, 0 snapshot blocks (0 keys), 128 bytes checked in \(f.log)\n"
                    + "torn tail: 22 bytes at offset 128 (left by a crash; readers ignore it, the next write cuts it off)\n"
            )
            #expect(
                f.json("verify").out
                    == "{\"ok\":true,\"files\":[\"\(f.log)\"],\"records\":3,\"blocks\":0,\"snapshot_keys\":0,\"bytes\":128,\"torn_tail\":{\"offset\":128,\"length\":22}}\n"
            )
            #expect(f.run("get", "k4").status == 1)
            #expect(f.run("get", "k3").stdout == "v3".bytes)
            // The next write cuts the tail off.
            #expect(f.run("put", "k5", "v5").status == 0)
            #expect(
                f.run("verify").out == "ok: 4 log records, 0 snapshot blocks (0 keys), 160 bytes checked in \(f.log)\n")
            #expect(f.run("scan", "--keys-only").out == "k1\nk2\nk3\nk5\n")
        }
    }
}
