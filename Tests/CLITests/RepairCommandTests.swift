import Glibc
import Testing

/// `logbook repair`: text and JSON reports, the backup, and a store that works afterwards.
@Suite struct RepairCommandTests {
    /// Four puts (32-byte records at offsets 32, 64, 96, 128), the second one damaged: two valid
    /// records follow it, so the store does not open until it is repaired.
    func damagedStore(_ f: Fixture) -> [UInt8] {
        for i in 1...4 { #expect(f.run("put", "k\(i)", "v\(i)").status == 0) }
        var bytes = TemporaryDirectory.read(f.log)
        bytes[64 + 20] ^= 0x40
        TemporaryDirectory.write(f.log, bytes)
        #expect(f.run("get", "k1").status == 5)
        return bytes
    }

    @Test func repairsAMidLogDamagedStore() {
        withFixture { f in
            let damaged = damagedStore(f)
            let result = f.run("repair")
            #expect(result.status == 0, "\(result.err)")
            #expect(result.stderr == [])
            let lines = result.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let prefix = "repaired \(f.store); the damaged files are backed up in \(f.store)/backup-"
            #expect(lines.first?.hasPrefix(prefix) == true, "\(result.out)")
            let backup = String(lines.first?.dropFirst(prefix.count - "\(f.store)/backup-".count) ?? "")
            #expect(
                Array(lines.dropFirst())
                    == [
                        "damage: log-1.wal at offset 64 (record 2 of the segment): checksum mismatch; a valid record "
                            + "follows at offset 96; 1 records before it kept, 3 dropped from there on",
                        "kept: 0 snapshot keys in 0 blocks, 1 log records; the store now holds 1 keys up to sequence 1",
                        "dropped: 3 log records, 0 snapshot blocks, 96 bytes",
                        "keys written by dropped records: \"k3\", \"k4\"",
                        "",
                    ], "\(result.out)")
            #expect(TemporaryDirectory.read(backup + "/log-1.wal") == damaged)

            #expect(f.run("verify").status == 0)
            #expect(f.run("get", "k1").stdout == "v1".bytes)
            #expect(f.run("get", "k3").status == 1)
            #expect(f.run("put", "k5", "v5").status == 0)
            #expect(f.run("scan", "--keys-only").out == "k1\nk5\n")
            let again = f.run("repair")
            #expect(again.status == 0)
            #expect(
                again.out == "nothing to repair: no damage in \(f.store) (1 log records, 1 snapshot keys)\n")
        }
    }

    /// A snapshot whose data file was deleted: its keys are lost, the log's commit kept, and
    /// both reports say which block went, where and with how many keys.
    @Test func aLostSnapshotBlockIsReported() {
        withFixture { f in
            for i in 1...5 { #expect(f.run("put", "k\(i)", "v\(i)").status == 0) }
            #expect(f.run("compact").status == 0)
            #expect(f.run("put", "k6", "v6").status == 0)
            let size = TemporaryDirectory.read(f.store + "/snapshot-1.dat").count
            #expect(unlink(f.store + "/snapshot-1.dat") == 0)
            let text = f.run("repair")
            #expect(text.status == 0, "\(text.err)")
            #expect(
                Array(text.out.split(separator: "\n").dropFirst()) == [
                    "damage: snapshot-1.dat is missing; its keys are lost",
                    "kept: 0 snapshot keys in 0 blocks, 1 log records; the store now holds 1 keys up to sequence 6",
                    "dropped: 0 log records, 1 snapshot blocks (5 keys), \(size) bytes",
                    "lost snapshot block at offset 0 (\(size) bytes): 5 keys from the first key",
                ], "\(text.out)")
            #expect(f.run("scan").out == "k6\tv6\n")
        }
        withFixture { f in
            for i in 1...5 { #expect(f.run("put", "k\(i)", "v\(i)").status == 0) }
            #expect(f.run("compact").status == 0)
            let size = TemporaryDirectory.read(f.store + "/snapshot-1.dat").count
            #expect(unlink(f.store + "/snapshot-1.dat") == 0)
            let json = f.json("repair")
            #expect(json.status == 0, "\(json.err)")
            #expect(
                json.out.contains(
                    "\"dropped_bytes\":\(size),\"dropped_keys\":[],\"dropped_blocks\":[{\"offset\":0,\"bytes\":\(size),"
                        + "\"keys\":5}],"), "\(json.out)")
        }
    }

    @Test func jsonReport() {
        withFixture { f in
            _ = damagedStore(f)
            let result = f.json("repair")
            #expect(result.status == 0, "\(result.err)")
            let head = "{\"path\":\"\(f.store)\",\"repaired\":true,\"backup\":\"\(f.store)/backup-"
            #expect(result.out.hasPrefix(head), "\(result.out)")
            let tail =
                "\",\"problems\":[\"log-1.wal at offset 64 (record 2 of the segment): checksum mismatch; a valid "
                + "record follows at offset 96; 1 records before it kept, 3 dropped from there on\"],"
                + "\"kept_records\":1,\"kept_blocks\":0,\"kept_snapshot_keys\":0,\"dropped_records\":3,"
                + "\"dropped_bytes\":96,\"dropped_keys\":[{\"key\":\"k3\"},{\"key\":\"k4\"}],\"dropped_blocks\":[],"
                + "\"torn_tail_bytes\":0,\"keys\":1,\"last_sequence\":1}\n"
            #expect(result.out.hasSuffix(tail), "\(result.out)")
            let stamp = result.out.dropFirst(head.count).dropLast(tail.count)
            #expect(stamp.count == 15 && stamp.allSatisfy { $0.isNumber || $0 == "-" }, "\(stamp)")

            let healthy = f.json("repair")
            #expect(healthy.status == 0)
            #expect(
                healthy.out
                    == "{\"path\":\"\(f.store)\",\"repaired\":false,\"backup\":null,\"problems\":[],\"kept_records\":0,"
                    + "\"kept_blocks\":1,\"kept_snapshot_keys\":1,\"dropped_records\":0,\"dropped_bytes\":0,"
                    + "\"dropped_keys\":[],\"dropped_blocks\":[],\"torn_tail_bytes\":0,\"keys\":1,\"last_sequence\":1}\n"
            )
        }
    }

    @Test func aMissingStoreExits1() {
        withFixture { f in
            let result = f.run("repair")
            #expect(result.status == 1)
            #expect(result.err == "logbook: no store at \(f.store)\n")
            #expect(!TemporaryDirectory.exists(f.store))
        }
    }
}
