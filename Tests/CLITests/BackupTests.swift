import Logbook
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

@Suite struct BackupTests {
    /// `logbook-test-helper`, beside `logbook`.
    static var helper: String {
        String(CLI.binary.dropLast("logbook".count)) + "logbook-test-helper"
    }

    /// The counter in the store at `path` (0 when absent), read through a fresh handle.
    static func counter(_ path: String) throws -> Int {
        let store = try Store(path: path, options: StoreOptions(createIfMissing: false))
        defer { store.close() }
        return try store.string("counter").flatMap { Int($0) } ?? 0
    }

    static func waitForCounter(_ path: String, atLeast target: Int) throws {
        var polls = 0
        while try counter(path) < target, polls < 3000 {
            usleep(10_000)
            polls += 1
        }
    }

    /// The JSON field `"name":N` of `text`.
    static func number(_ name: String, in text: String) -> Int? {
        let marker = Array("\"\(name)\":".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count >= marker.count else { return nil }
        for i in 0...(bytes.count - marker.count) where Array(bytes[i..<(i + marker.count)]) == marker {
            return Int(
                String(
                    decoding: bytes[(i + marker.count)...].prefix { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)
            )
        }
        return nil
    }

    @Test func backupWhileFourProcessesWriteOpensVerifiesAndHoldsAPrefix() throws {
        try withFixture { f in
            #expect(f.run("put", "counter", "0").status == 0)  // sequence 1: counter 0
            let stop = f.directory.at("stop")
            let writers = (0..<4).map { _ in
                Child(
                    executable: Self.helper, arguments: ["incr-until".bytes, f.store.bytes, stop.bytes],
                    environment: [:])
            }
            try Self.waitForCounter(f.store, atLeast: 30)
            let first = f.directory.at("backup-1")
            let backup1 = f.json("backup", first)
            #expect(backup1.status == 0, "\(backup1.err)")
            let sourceLog = TemporaryDirectory.read(f.log)  // still growing, never rewritten
            let compact = f.run("compact")
            #expect(compact.status == 0, "\(compact.err)")
            let atCompaction = try Self.counter(f.store)
            try Self.waitForCounter(f.store, atLeast: atCompaction + 30)
            let second = f.directory.at("backup-2")
            let backup2 = f.json("backup", second)
            #expect(backup2.status == 0, "\(backup2.err)")
            TemporaryDirectory.write(stop, [])
            for writer in writers {
                let result = writer.finish()
                #expect(result.status == 0, "\(result.err)")
                #expect(result.out.hasSuffix("done\n"))
            }
            let final = try Self.counter(f.store)

            // Backup 1: the log up to one record boundary, byte for byte a prefix of the source's.
            let sequence1 = try #require(Self.number("sequence", in: backup1.out))
            #expect(Self.number("generation", in: backup1.out) == 0)
            let copiedLog = TemporaryDirectory.read(first + "/log-1.wal")
            #expect(copiedLog.count <= sourceLog.count)
            #expect(Array(sourceLog.prefix(copiedLog.count)) == copiedLog)
            // Backup 2: a snapshot, the log after it; the generation of that moment.
            let sequence2 = try #require(Self.number("sequence", in: backup2.out))
            #expect(Self.number("generation", in: backup2.out) == 2)
            #expect(TemporaryDirectory.exists(second + "/MANIFEST"))
            #expect(TemporaryDirectory.exists(second + "/snapshot-1.dat"))

            for (directory, sequence) in [(first, sequence1), (second, sequence2)] {
                // Every commit is one increment after the first put: the counter is sequence - 1.
                #expect(try Self.counter(directory) == sequence - 1)
                #expect(sequence - 1 <= final)
                let verify = CLI.run(["--store", directory, "--json", "verify"])
                #expect(verify.status == 0, "\(verify.err)")
                #expect(verify.out.contains("\"torn_tail\":null"))
                let store = try Store(path: directory)
                #expect(try store.stats().lastSequence == UInt64(sequence))
                try store.put("counter", "written to the backup")  // it is a working store
                store.close()
            }
            #expect(sequence1 > 30 && sequence2 > atCompaction + 30)
        }
    }

    @Test func refusesANonEmptyDirectoryAndAMissingStore() {
        withFixture { f in
            #expect(f.run("backup", f.directory.at("b")).status == 1)  // no store yet
            #expect(f.run("put", "k", "v").status == 0)
            let occupied = f.directory.at("occupied")
            TemporaryDirectory.makeDirectory(occupied)
            TemporaryDirectory.write(occupied + "/file", [1])
            let refused = f.run("backup", occupied)
            #expect(refused.status == 2)
            #expect(
                refused.err
                    == "logbook: backup directory \(occupied) is not empty; give a new or empty directory\n")
            let inside = f.run("backup", f.store + "/copy")
            #expect(inside.status == 2)
            #expect(inside.err.hasPrefix("logbook: backup directory \(f.store)/copy is inside the store"))
            let empty = f.directory.at("empty")
            TemporaryDirectory.makeDirectory(empty)
            let ok = f.run("backup", empty)
            #expect(ok.status == 0)
            #expect(ok.out.hasPrefix("backed up to \(empty): every commit up to sequence 1, 1 files, "))
            #expect(CLI.run(["--store", empty, "get", "k"]).out == "v")
        }
    }
}
