import FuzzSupport
import Glibc
// fuzz-seeds: writes the seed corpus of every fuzz target (Fuzz/corpus/NAME/) with the engine's
// own encoders and real stores. Run from the package root: swift run fuzz-seeds
@_spi(Testing) import Logbook
@_spi(Testing) import LogbookAgents

@main enum SeedWriter {
    static func main() throws {
        let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Fuzz/corpus"
        let records = sampleRecords()
        var log: [UInt8] = []
        for record in records { LogFormat.appendRecord(record, to: &log) }

        // Transaction payloads.
        write(
            root, "fuzz-log-payload", records.map { Array(LogFormat.encode($0).dropFirst(LogFormat.recordHeaderSize)) })

        // Log records: control, window, then records (clean, torn, corrupt; with and without fix-ups).
        var torn = log
        torn += LogFormat.encode(LogRecord(sequence: 6, mutations: [.put(key: [1], value: [2, 3])])).prefix(15)
        var corrupt = log
        corrupt[LogFormat.recordHeaderSize + 20] ^= 0x40
        var fromSeven: [UInt8] = [2 | 4 | 8, 3]
        fromSeven.appendLE(UInt64(6))
        fromSeven.appendLE(UInt32(4096))
        fromSeven += LogFormat.encode(LogRecord(sequence: 7, mutations: [.delete(key: Array("gone".utf8))]))
        // And zeros allocated ahead after the records, after a torn record, and before a record.
        let zeros = [UInt8](repeating: 0, count: 300)
        write(
            root, "fuzz-log-records",
            [
                [0, 7] + log, [1, 0] + torn, [0, 40] + corrupt, [8, 1] + log.prefix(60), fromSeven,
                [0, 5] + log + zeros, [0, 9] + torn + zeros, [0, 3] + log.prefix(60) + zeros + log.dropFirst(60),
            ])

        // File headers.
        write(
            root, "fuzz-segment-header",
            [
                [0, 3] + LogFormat.segmentHeader(number: 1), [1, 17] + LogFormat.segmentHeader(number: 4242),
                [0, 30] + SnapshotFormat.dataHeader(number: 2),
            ])

        // MANIFEST.
        write(
            root, "fuzz-manifest",
            [
                [0, 5] + Manifest(generation: 1, snapshot: 1, snapshotSequence: 40, firstLog: 2, lastLog: 2).encode(),
                [1, 60] + Manifest(generation: 7, snapshot: 3, snapshotSequence: 900, firstLog: 5, lastLog: 6).encode(),
                [0, 0] + Manifest.initial.encode(),
            ])

        // A real compacted store of two blocks: its index and its blocks (their first entries).
        let big = try compactedStore(keys: 40, valueBytes: 120)
        let index = big.files.first { $0.name.hasSuffix(".idx") }!.bytes
        let data = big.files.first { $0.name.hasSuffix(".dat") }!.bytes
        // And one block whose last key is as long as a key may be (one byte more is invalid).
        let longest = SnapshotFormat.BlockHandle(
            offset: 32, length: UInt32(14 + Limits.maxKeySize), count: 1,
            lastKey: [UInt8](repeating: 0x6B, count: Limits.maxKeySize))
        let atLimit = SnapshotFormat.encodeIndex(
            SnapshotFormat.Index(
                number: 1, keyCount: 1, dataSize: 40 + 14 + UInt64(Limits.maxKeySize), blocks: [longest]))
        write(root, "fuzz-snapshot-index", [[0] + index, [1] + index.prefix(56 + 40), [1] + atLimit])
        var blocks: [[UInt8]] = []
        var offset = SnapshotFormat.dataHeaderSize
        while offset + 8 <= data.count {
            let length = Int(data.loadLE(UInt32.self, at: offset))
            let entries = data.withUnsafeBytes { raw in
                SnapshotFormat.decodeBlockEntries(
                    UnsafeRawBufferPointer(rebasing: raw[(offset + 8)..<(offset + 8 + length)]))
            }!
            var seed: [UInt8] = [1]
            seed.appendLE(UInt16(min(entries.count, 6)))
            for entry in entries.prefix(6) {
                SnapshotFormat.appendEntry(entry.key, entry.value, entry.sequence, to: &seed)
            }
            blocks.append(seed)
            offset += 8 + length
        }
        var small: [UInt8] = [0, 0, 0]
        SnapshotFormat.appendEntry(Array("a".utf8), [], 1, to: &small)
        SnapshotFormat.appendEntry(Array("ab".utf8), Array("value".utf8), 9, to: &small)
        SnapshotFormat.appendEntry([0xFF, 0], [0], 3, to: &small)
        blocks.append(small)
        write(root, "fuzz-snapshot-block", blocks)

        // Lock holders.
        var holders: [[UInt8]] = []
        for (pid, name) in [(UInt64(4242), "logbook"), (UInt64(1), "agent-🦊"), (UInt64(0xFFFF_FFFF_0000_0007), "")] {
            var page: [UInt8] = []
            page.appendLE(pid)
            page.appendLE(UInt64(1_700_000_000_000_000_000))
            page.appendLE(UInt64(12))
            page += Array(name.utf8) + [UInt8](repeating: 0, count: 64 - name.utf8.count)
            holders.append(page)
        }
        write(root, "fuzz-lock-holder", holders)

        // Whole stores (LOCK cut to its used part; the engine grows it): a fresh one with a torn
        // tail, a compacted one with later writes (as is, and with writes and compaction asked
        // for), and one sealed by a compaction that never finished (two segments).
        var fresh = try store(keys: 6, valueBytes: 3, compact: false)
        fresh.files = fresh.files.map { $0.name == "log-1.wal" ? ($0.name, $0.bytes + [9, 0, 0, 0, 1]) : $0 }
        fresh.control = 4 | 8 | 64  // paranoid; write (cutting the torn tail) with a second handle watching
        var compacted = try compactedStore(keys: 12, valueBytes: 10)
        var images = [fresh, compacted]
        compacted.control = 2 | 8 | 16 | 64
        images.append(compacted)
        var sealed = compacted
        sealed.control = 1 | 8
        let sealedManifest = Manifest(generation: 2, snapshot: 1, snapshotSequence: 12, firstLog: 2, lastLog: 3)
        let record = LogRecord(sequence: 15, mutations: [.put(key: [7], value: [8])])
        sealed.files =
            sealed.files.filter { $0.name != "MANIFEST" } + [
                ("MANIFEST", sealedManifest.encode()),
                ("log-3.wal", LogFormat.segmentHeader(number: 3) + LogFormat.encode(record)),
            ]
        images.append(sealed)
        write(root, "fuzz-store-open", images.map { $0.encoded() })

        // Agent records: control (bits 0-1 the type, 0 task .. 3 history entry), then the value;
        // with bit 2, the value without its 2-byte header (the target puts a valid one back).
        let agents = agentRecords()
        let headerless = agents.prefix(4).map { [$0.type | 4] + $0.value.dropFirst(2) }
        write(root, "fuzz-agent-records", agents.map { [$0.type] + $0.value } + headerless)
    }

    /// Values of every agent record type from the layer's own encoders: full and minimal ones,
    /// and the creation history of a task.
    static func agentRecords() -> [(type: UInt8, value: [UInt8])] {
        let at = Timestamp(milliseconds: 1_766_748_445_123)
        var full = TaskRecord(
            id: "T-20251226-112725-6e0cec19", title: "Fix the torn-tail check", description: "After a crash: ✓ 🦊",
            status: .inProgress, priority: 1, labels: ["bug", "storage"], assignee: "agent-7",
            dependsOn: ["T-20251226-112700-00000001", "T-20251226-112701-0000000f"],
            notes: [
                TaskNote(at: at, by: "agent-7", text: "seen twice"),
                TaskNote(at: Timestamp(milliseconds: -1), by: "", text: ""),
            ],
            createdAt: at, createdBy: "lead", updatedAt: at.adding(seconds: 60), revision: 4)
        full.claimedAt = at.adding(seconds: 30)
        full.leaseExpiresAt = at.adding(seconds: 930)
        full.blockedReason = "waits for review"
        full.blocker = "T-20251226-112700-00000001"
        full.retrospective = ""
        full.closedAt = Timestamp(milliseconds: .min)
        let minimal = TaskRecord(
            id: "T-20251226-112725-00000000", title: "", createdAt: Timestamp(milliseconds: 0), createdBy: "")
        var decision = DecisionRecord(
            id: "D-20251226-112725-0badcafe", text: "Use OFD locks", rationale: "per-descriptor, not per-process",
            alternatives: ["flock", "fcntl"], affects: ["T-20251226-112725-6e0cec19"], createdAt: at, createdBy: "lead",
            revision: 2)
        var handoff = HandoffRecord(
            id: "H-20251226-112725-deadbeef", from: "lead", to: "agent-7", task: "T-20251226-112725-6e0cec19",
            instructions: "take the torn tail", status: .completed, createdAt: at, revision: 3)
        handoff.result = "done"
        handoff.updatedAt = at.adding(seconds: 3600)
        let rejected = HandoffRecord(
            id: "H-20251226-112725-00000001", from: "a", to: "b", instructions: "", status: .rejected, createdAt: at)
        let entry = HistoryEntry(
            recordID: full.id, revision: 4, at: at, by: "agent-7", action: "updated",
            changes: [
                FieldChange(field: "status", old: "open", new: "in_progress"),
                FieldChange(field: "assignee", old: nil, new: "agent-7"),
                FieldChange(field: "blocker", old: "T-20251226-112700-00000001", new: nil),
            ])
        let records: [(type: UInt8, value: [UInt8])] = [
            (0, full.encoded()), (1, decision.encoded()), (2, handoff.encoded()), (3, entry.encoded()),
            (0, minimal.encoded()), (2, rejected.encoded()),
            (3, full.creationHistory(at: at, by: "lead", action: "created")),
        ]
        decision.rationale = ""
        return records + [(1, decision.encoded())]
    }

    static func compactedStore(keys: Int, valueBytes: Int) throws -> StoreImage {
        try store(keys: keys, valueBytes: valueBytes, compact: true)
    }

    /// The files of a store with `keys` puts (then, when `compact`, a compaction, a put and a delete).
    static func store(keys: Int, valueBytes: Int, compact: Bool) throws -> StoreImage {
        let dir = temporaryDirectory()
        defer {
            StoreImage.empty(dir)
            rmdir(dir)
        }
        let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
        defer { store.close() }
        for i in 0..<keys {
            try store.put(Array("key-\(i)".utf8), [UInt8](repeating: UInt8(0x41 + i % 26), count: valueBytes + i % 5))
        }
        if compact {
            try store.compact()
            try store.put("after", "compaction")
            _ = try store.delete(Array("key-3".utf8))
        }
        var image = StoreImage.read(directory: dir, control: 0)
        // The page's words up to the MANIFEST generation, holder fields zeroed (the same seeds each run).
        image.files = image.files.map { file in
            guard file.name == "LOCK" else { return file }
            var page = Array(file.bytes.prefix(136))
            for i in 40..<128 { page[i] = 0 }
            return (file.name, page)
        }
        return image
    }

    /// A few transactions: puts, deletes, empty values, binary keys, several mutations.
    static func sampleRecords() -> [LogRecord] {
        [
            LogRecord(sequence: 1, mutations: [.put(key: Array("task/1".utf8), value: Array("open".utf8))]),
            LogRecord(
                sequence: 2, mutations: [.put(key: [0, 255, 1], value: []), .delete(key: Array("task/0".utf8))]),
            LogRecord(sequence: 3, mutations: [.delete(key: Array("task/1".utf8))]),
            LogRecord(
                sequence: 4,
                mutations: (0..<5).map {
                    .put(key: Array("k\($0)".utf8), value: [UInt8](repeating: UInt8($0), count: $0 * 11))
                }),
            LogRecord(sequence: 5, mutations: [.put(key: [UInt8](repeating: 0x61, count: 40), value: Array("x".utf8))]),
        ]
    }

    static func temporaryDirectory() -> String {
        var template = Array("/tmp/logbook-seeds-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            fatalError("mkdtemp")
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Replaces the seeds in `root/name` (files `seed-N`; other files, such as regression
    /// inputs saved from crashes, stay) with `seeds`.
    static func write(_ root: String, _ name: String, _ seeds: [[UInt8]]) {
        let dir = root + "/" + name
        mkdir(root, 0o755)
        mkdir(dir, 0o755)
        for i in 1...64 { unlink(dir + "/seed-\(i)") }
        for (i, seed) in seeds.enumerated() {
            let path = dir + "/seed-\(i + 1)"
            guard let file = fopen(path, "wb") else { fatalError("cannot create \(path)") }
            _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        print("\(dir): \(seeds.count) seeds, \(seeds.reduce(0) { $0 + $1.count }) bytes")
    }
}
