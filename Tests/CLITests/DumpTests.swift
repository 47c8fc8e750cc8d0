import Testing

@Suite struct DumpTests {
    /// Four records of 32 bytes each (`kN` = `vN`), at offsets 32, 64, 96 and 128.
    static func fourRecords(_ f: Fixture) {
        for i in 1...4 { #expect(f.run("put", "k\(i)", "v\(i)").status == 0) }
    }

    @Test func damagedRecordIsShownAndReadingGoesOn() {
        withFixture { f in
            Self.fourRecords(f)
            var log = TemporaryDirectory.read(f.log)
            #expect(log.count == 65536)  // 160 bytes of records, then zeros allocated ahead
            log[64 + 20] ^= 0xFF  // inside record 2's payload
            TemporaryDirectory.write(f.log, log)
            let dump = f.run("dump", "--log")
            #expect(dump.status == 5)
            #expect(
                dump.out == """
                    log-1.wal: log segment 1, 65536 bytes
                    log-1.wal @32: record sequence 1, 32 bytes, 1 changes
                        put "k1" (2 bytes)
                    log-1.wal @64: DAMAGED, 32 bytes: checksum mismatch; a valid record follows at offset 96
                    log-1.wal @96: record sequence 3, 32 bytes, 1 changes
                        put "k3" (2 bytes)
                    log-1.wal @128: record sequence 4, 32 bytes, 1 changes
                        put "k4" (2 bytes)
                    log-1.wal @160: 65376 bytes allocated ahead (zeros, not records)

                    """)
            #expect(
                dump.err
                    == "logbook: 1 damaged span in \(f.store); the first in \(f.log) at offset 64: checksum mismatch; "
                    + "a valid record follows at offset 96\n")
            let json = f.json("dump", "--log", "--values")
            #expect(json.status == 5)
            #expect(
                json.out.split(separator: "\n").map(String.init) == [
                    #"{"type":"segment","file":"log-1.wal","number":1,"bytes":65536,"named":true}"#,
                    #"{"type":"record","file":"log-1.wal","offset":32,"length":32,"sequence":1,"changes":[{"op":"put","key":"k1","value_size":2,"value":"v1"}]}"#,
                    #"{"type":"damage","file":"log-1.wal","offset":64,"length":32,"torn":false,"reason":"checksum mismatch; a valid record follows at offset 96"}"#,
                    #"{"type":"record","file":"log-1.wal","offset":96,"length":32,"sequence":3,"changes":[{"op":"put","key":"k3","value_size":2,"value":"v3"}]}"#,
                    #"{"type":"record","file":"log-1.wal","offset":128,"length":32,"sequence":4,"changes":[{"op":"put","key":"k4","value_size":2,"value":"v4"}]}"#,
                    #"{"type":"allocated","file":"log-1.wal","offset":160,"length":65376}"#,
                ])
            #expect(json.err.hasPrefix(#"{"error":{"code":"corrupted","exit":5,"#))
        }
    }

    @Test func tornTailIsShownWithoutFailing() {
        withFixture { f in
            Self.fourRecords(f)
            // A crash's remains right after the records (the zeros allocated ahead cut off).
            TemporaryDirectory.write(f.log, TemporaryDirectory.content(f.log) + [0x20, 0, 0, 0, 1, 2])
            let dump = f.run("dump", "--log")
            #expect(dump.status == 0)
            #expect(
                dump.out.hasSuffix(
                    "log-1.wal @160: torn tail of 6 bytes (left by a crash; ignored, cut by the next write)\n"
                ))
            #expect(dump.out.contains("log-1.wal @128: record sequence 4, 32 bytes, 1 changes\n"))
        }
    }

    @Test func snapshotManifestAndDeletesAfterCompaction() {
        withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            #expect(f.run("put", "b", "22").status == 0)
            #expect(f.run("delete", "a").status == 0)
            #expect(f.run("compact").status == 0)
            #expect(f.run("delete", "b").status == 0)
            let dump = f.run("dump", "--values")
            #expect(dump.status == 0)
            #expect(
                dump.out == """
                    MANIFEST: generation 2, snapshot 1 (commits up to sequence 3), log segments 2...2
                    snapshot-1.dat: snapshot 1, 1 keys in 1 blocks, 57 bytes
                    snapshot-1.dat @32: block of 25 bytes, 1 entries
                        put "b" (2 bytes) seq 2 = "22"
                    log-2.wal: log segment 2, 65536 bytes
                    log-2.wal @32: record sequence 4, 25 bytes, 1 changes
                        delete "b"
                    log-2.wal @57: 65479 bytes allocated ahead (zeros, not records)

                    """)
            #expect(f.run("dump", "--manifest").out.split(separator: "\n").count == 1)
            let json = f.json("dump", "--manifest", "--snapshot").out.split(separator: "\n")
            #expect(
                json.first
                    == #"{"type":"manifest","file":"MANIFEST","present":true,"generation":2,"snapshot":1,"snapshot_sequence":3,"first_log":2,"last_log":2}"#
            )
            #expect(
                json.dropFirst().first
                    == #"{"type":"snapshot","file":"snapshot-1.dat","number":1,"keys":1,"blocks":1,"bytes":57}"#)
            #expect(CLI.run(["--store", f.directory.at("none"), "dump"]).status == 1)
        }
    }

    @Test func aStoreNeverCompactedHasNoManifest() {
        withFixture { f in
            #expect(f.run("put", "a", "1").status == 0)
            #expect(f.run("dump", "--manifest").out == "MANIFEST: none (never compacted): no snapshot, log segment 1\n")
            #expect(
                f.json("dump", "--manifest").out
                    == #"{"type":"manifest","file":"MANIFEST","present":false,"generation":0,"snapshot":0,"snapshot_sequence":0,"first_log":1,"last_log":1}"#
                    + "\n")
        }
    }
}
