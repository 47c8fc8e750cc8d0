// The record encoder (sized in one pass, written in a second), the creation-history encoder,
// the key builders and the id maker, each against an independent reference: the append-based
// encoder they replaced (so the bytes on disk are unchanged), `changes(from: nil)`, string
// concatenation, and `Timestamp.iso8601`. And the decoders on damaged and arbitrary bytes.

@_spi(Testing) import LogbookTestSupport
import Testing

@_spi(Testing) @testable import LogbookAgents

@Suite struct EncodingTests {
    @Test func recordsEncodeAsTheReferenceAndRoundTrip() throws {
        var rng = SeededGenerator(seed: 0x5EED_0007)
        for round in 0..<400 {
            let task = randomTask(&rng, full: round % 2 == 0)
            let bytes = task.encoded()
            #expect(bytes == Reference.task(task), "task \(round)")
            #expect(try TaskRecord(id: task.id, decoding: bytes) == task)
            #expect(try TaskRecord.status(id: task.id, decoding: bytes) == task.status)

            let decision = randomDecision(&rng)
            #expect(decision.encoded() == Reference.decision(decision), "decision \(round)")
            #expect(try DecisionRecord(id: decision.id, decoding: decision.encoded()) == decision)

            let handoff = randomHandoff(&rng)
            #expect(handoff.encoded() == Reference.handoff(handoff), "hand-off \(round)")
            #expect(try HandoffRecord(id: handoff.id, decoding: handoff.encoded()) == handoff)

            let entry = randomEntry(&rng)
            #expect(entry.encoded() == Reference.history(entry), "history \(round)")
            #expect(
                try HistoryEntry(recordID: entry.recordID, revision: entry.revision, decoding: entry.encoded())
                    == entry)
        }
    }

    @Test func largestFieldsRoundTrip() throws {
        var task = TaskRecord(
            id: "T-20251226-112725-6e0cec19",
            title: String(repeating: "é", count: Validation.maxTitle / 2),
            description: String(repeating: "✓", count: Validation.maxText / 3),
            labels: (0..<50).map { "\($0)" + String(repeating: "l", count: Validation.maxName - 2) },
            assignee: String(repeating: "a", count: Validation.maxName),
            createdAt: Timestamp(milliseconds: .max), createdBy: String(repeating: "🧵", count: 50),
            updatedAt: Timestamp(milliseconds: .min), revision: .max)
        task.notes = [TaskNote(at: Timestamp(milliseconds: -1), by: "", text: String(repeating: "n", count: 70_000))]
        task.retrospective = ""
        task.blockedReason = ""
        #expect(task.title.utf8.count == Validation.maxTitle)
        let bytes = task.encoded()
        #expect(bytes == Reference.task(task))
        #expect(try TaskRecord(id: task.id, decoding: bytes) == task)
        #expect(task.creationHistory(at: task.createdAt, by: "p", action: "created") == creationReference(task, "p"))
    }

    @Test func creationHistoryIsTheEntryOfChangesFromNothing() throws {
        var rng = SeededGenerator(seed: 0x5EED_0008)
        for round in 0..<400 {
            let task = randomTask(&rng, full: round % 3 == 0)
            let actor = randomText(&rng, maxLength: 12)
            let bytes = task.creationHistory(at: task.createdAt, by: actor, action: "created")
            #expect(bytes == creationReference(task, actor), "round \(round)")
            let decoded = try HistoryEntry(recordID: task.id, revision: 1, decoding: bytes)
            #expect(decoded.changes == task.changes(from: nil))
        }
    }

    @Test func keysAreTheDocumentedConcatenations() {
        var rng = SeededGenerator(seed: 0x5EED_0009)
        for _ in 0..<200 {
            let id = RecordID.make(
                .task, at: Timestamp(milliseconds: Int64(rng.next() % 4_000_000_000_000)),
                random: UInt32(truncatingIfNeeded: rng.next()))
            let other = RecordID.make(
                .task, at: Timestamp(milliseconds: 0), random: UInt32(truncatingIfNeeded: rng.next()))
            let revision = Int(rng.next() >> 1)
            let name = randomText(&rng, maxLength: 20)
            let priority = Int(rng.next() % 5)
            let expiry = Timestamp(milliseconds: Int64(rng.next() % 1_000_000_000_000_000))
            #expect(KeyLayout.task(id) == Array("ag/t/\(id)".utf8))
            #expect(KeyLayout.history(id, revision: revision) == Array("ag/log/\(id)/\(hex16(UInt64(revision)))".utf8))
            #expect(KeyLayout.historyPrefix(id) == Array("ag/log/\(id)/".utf8))
            for status in TaskStatus.allCases {
                #expect(
                    KeyLayout.ranked(KeyLayout.statusPrefix(status), priority, id)
                        == Array("ag/i/ts/\(status.rawValue)/\(priority)\(id)".utf8))
            }
            #expect(
                KeyLayout.ranked(KeyLayout.labelRoot, name: name, priority, id)
                    == Array("ag/i/tl/\(name)\0\(priority)\(id)".utf8))
            #expect(KeyLayout.labelPrefix(name) == Array("ag/i/tl/\(name)\0".utf8))
            #expect(
                KeyLayout.ranked(KeyLayout.assigneeRoot, name: name, priority, id)
                    == Array("ag/i/ta/\(name)\0\(priority)\(id)".utf8))
            #expect(KeyLayout.ranked(KeyLayout.readyRoot, priority, id) == Array("ag/i/tr/\(priority)\(id)".utf8))
            #expect(
                KeyLayout.lease(expiry, id) == Array("ag/i/tx/\(hex16(UInt64(expiry.milliseconds)))/\(id)".utf8))
            #expect(KeyLayout.leasesBefore(Timestamp(milliseconds: -5)) == Array("ag/i/tx/\(hex16(0))".utf8))
            let edge = Edge(from: id, kind: .dependsOn, to: other)
            #expect(KeyLayout.edge(edge) == Array("ag/e/\(id)/depends-on/\(other)".utf8))
            #expect(KeyLayout.reverseEdge(edge) == Array("ag/E/\(other)/depends-on/\(id)".utf8))
        }
    }

    @Test func idsSpellTheirCreationSecond() {
        var rng = SeededGenerator(seed: 0x5EED_000A)
        for _ in 0..<500 {
            // 1900 to 2300, both sides of the epoch.
            let ms = Int64(rng.next() % 12_600_000_000_000) - 2_208_988_800_000
            let time = Timestamp(milliseconds: ms)
            let random = UInt32(truncatingIfNeeded: rng.next())
            let id = RecordID.make(.decision, at: time, random: random)
            let iso = Array(time.iso8601.utf8)  // YYYY-MM-DDTHH:MM:SS.mmmZ
            var stamp: [UInt8] = Array(iso[0..<4])
            stamp += iso[5..<7]
            stamp += iso[8..<10]
            stamp.append(UInt8(ascii: "-"))
            stamp += iso[11..<13]
            stamp += iso[14..<16]
            stamp += iso[17..<19]
            let expected: String = "D-" + String(decoding: stamp, as: UTF8.self) + "-" + hex8(random)
            #expect(id == expected)
            #expect(RecordID.isValid(id, kind: .decision))
        }
    }

    /// A varint is read only in its shortest form and within 64 bits: over-long encodings of a
    /// value (a zero last byte) and bits beyond the 64th are damage, as the writer makes neither.
    @Test func varintsHaveOneEncoding() throws {
        func read(_ varint: [UInt8]) throws -> UInt64 {
            try ([0x02] + varint).withUnsafeBytes { bytes in  // field 1, wire 0
                var reader = RecordReader(nested: bytes, naming: .init(type: .task, id: "test"))
                guard let (field, value) = try reader.next(), field == 1, case .varint(let number) = value else {
                    throw AgentError.corrupted("no varint field")
                }
                #expect(try reader.next() == nil)
                return number
            }
        }
        func expectDamaged(_ varint: [UInt8], _ why: String) {
            #expect(throws: AgentError.self, "\(varint): \(why)") { _ = try read(varint) }
        }
        #expect(try read([0x00]) == 0)
        #expect(try read([0x7F]) == 127)
        #expect(try read([0x80, 0x01]) == 128)
        #expect(try read([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) == .max)
        #expect(try read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) == 1 << 63)
        for value: UInt64 in [0, 1, 127, 128, 300, 1 << 35, .max - 1, .max] {
            var encoded: [UInt8] = []
            var rest = value
            while rest >= 0x80 {
                encoded.append(UInt8(rest & 0x7F) | 0x80)
                rest >>= 7
            }
            encoded.append(UInt8(rest))
            #expect(encoded.count == RecordWriter.varintSize(value))
            #expect(try read(encoded) == value)
        }
        expectDamaged([0x80, 0x00], "0 in two bytes")
        expectDamaged([0x85, 0x80, 0x00], "5 in three bytes")
        expectDamaged([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], "bit 64")
        expectDamaged([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x00], "eleven bytes")
        expectDamaged([0x80, 0x80], "runs past the end")
        expectDamaged([], "no byte at all")
    }

    /// Damaged records (truncated, bytes flipped, inserted or dropped) and arbitrary bytes:
    /// every decoder returns a record or throws `corrupted`, never crashes; whatever decodes
    /// encodes to bytes that decode to the same record.
    @Test func decodersSurviveArbitraryBytes() throws {
        var rng = SeededGenerator(seed: 0x5EED_000B)
        var valid: [[UInt8]] = []
        for i in 0..<40 {
            valid.append(randomTask(&rng, full: i % 2 == 0).encoded())
            valid.append(randomDecision(&rng).encoded())
            valid.append(randomHandoff(&rng).encoded())
            valid.append(randomEntry(&rng).encoded())
        }
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if bytes.count >= 2 && round % 8 == 0 {
                    bytes[0] = 1
                    bytes[1] = UInt8(1 + rng.next() % 4)
                }
            } else {
                bytes = valid[Int(rng.next() % UInt64(valid.count))]
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    let at = Int(rng.next() % UInt64(bytes.count + 1))
                    switch rng.next() % 4 {
                    case 0: bytes = Array(bytes.prefix(at))
                    case 1: if at < bytes.count { bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8)) }
                    case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                    default: if at < bytes.count { bytes.remove(at: at) }
                    }
                }
            }
            decoded += try decodeOrCorrupted(bytes)
        }
        #expect(decoded > 1000)  // the mutations leave many records readable: they were exercised
    }

    /// Decodes `bytes` as each record type; 1 per type that decoded.
    private func decodeOrCorrupted(_ bytes: [UInt8]) throws -> Int {
        let id = "T-20251226-112725-6e0cec19"
        var decoded = 0
        func attempt(_ body: () throws -> Void) throws {
            do {
                try body()
                decoded += 1
            } catch let error as AgentError {
                #expect(error.code == .corrupted)
            }
        }
        try attempt {
            let task = try TaskRecord(id: id, decoding: bytes)
            #expect(try TaskRecord(id: id, decoding: task.encoded()) == task)
            _ = try TaskRecord.status(id: id, decoding: bytes)
        }
        try attempt {
            let decision = try DecisionRecord(id: id, decoding: bytes)
            #expect(try DecisionRecord(id: id, decoding: decision.encoded()) == decision)
        }
        try attempt {
            let handoff = try HandoffRecord(id: id, decoding: bytes)
            #expect(try HandoffRecord(id: id, decoding: handoff.encoded()) == handoff)
        }
        try attempt {
            let entry = try HistoryEntry(recordID: id, revision: 2, decoding: bytes)
            #expect(try HistoryEntry(recordID: id, revision: 2, decoding: entry.encoded()) == entry)
        }
        return decoded
    }
}

// MARK: random records

/// Text of 0 to `maxLength` scalars: ASCII, accented, symbols, CJK, emoji, and separators
/// (comma, NUL, newline) that the encoding must carry untouched.
private func randomText(_ rng: inout SeededGenerator, maxLength: Int) -> String {
    let pool: [Unicode.Scalar] = [
        "a", "Z", "0", " ", ",", "\0", "\n", "é", "ß", "✓", "→", "中", "文", "🧵", "👩‍💻".unicodeScalars.first!,
    ]
    let length = Int(rng.next() % UInt64(maxLength + 1))
    var text = String.UnicodeScalarView()
    for _ in 0..<length { text.append(pool[Int(rng.next() % UInt64(pool.count))]) }
    return String(text)
}

private func randomTime(_ rng: inout SeededGenerator) -> Timestamp {
    switch rng.next() % 6 {
    case 0: return Timestamp(milliseconds: 0)
    case 1: return Timestamp(milliseconds: -Int64(rng.next() % 10_000_000_000_000))
    case 2: return Timestamp(milliseconds: Int64(bitPattern: rng.next()))
    default: return Timestamp(milliseconds: 1_766_748_445_000 + Int64(rng.next() % 100_000_000))
    }
}

private func randomID(_ rng: inout SeededGenerator, _ kind: RecordKind = .task) -> String {
    RecordID.make(kind, at: randomTime(&rng), random: UInt32(truncatingIfNeeded: rng.next()))
}

private func maybe<T>(_ rng: inout SeededGenerator, _ make: (inout SeededGenerator) -> T) -> T? {
    rng.next() % 2 == 0 ? nil : make(&rng)
}

private func randomTask(_ rng: inout SeededGenerator, full: Bool) -> TaskRecord {
    let id = randomID(&rng)
    let title = randomText(&rng, maxLength: full ? 200 : 20)
    let description = randomText(&rng, maxLength: full ? 300 : 3)
    let status = TaskStatus.allCases[Int(rng.next() % 5)]
    let priority = Int(rng.next() % 5)
    var labels: [String] = []
    for _ in 0..<Int(rng.next() % 4) { labels.append(randomText(&rng, maxLength: 10)) }
    let assignee = maybe(&rng) { randomText(&$0, maxLength: 10) }
    var dependsOn: [String] = []
    for _ in 0..<Int(rng.next() % 3) { dependsOn.append(randomID(&rng)) }
    var notes: [TaskNote] = []
    for _ in 0..<(full ? Int(rng.next() % 3) : 0) {
        let at = randomTime(&rng)
        let by = randomText(&rng, maxLength: 5)
        notes.append(TaskNote(at: at, by: by, text: randomText(&rng, maxLength: 40)))
    }
    let createdAt = randomTime(&rng)
    let createdBy = randomText(&rng, maxLength: 10)
    let updatedAt = maybe(&rng) { randomTime(&$0) }
    let revision = rng.next() % 3 == 0 ? Int(rng.next() >> 1) : 1
    var task = TaskRecord(
        id: id, title: title.isEmpty ? "t" : title, description: description, status: status,
        priority: priority, labels: labels, assignee: assignee, dependsOn: dependsOn, notes: notes,
        createdAt: createdAt, createdBy: createdBy, updatedAt: updatedAt, revision: revision)
    if full {
        task.claimedAt = maybe(&rng) { randomTime(&$0) }
        task.leaseExpiresAt = maybe(&rng) { randomTime(&$0) }
        task.blockedReason = maybe(&rng) { randomText(&$0, maxLength: 20) }
        task.blocker = maybe(&rng) { randomID(&$0) }
        task.retrospective = maybe(&rng) { randomText(&$0, maxLength: 20) }
        task.closedAt = maybe(&rng) { randomTime(&$0) }
    }
    return task
}

private func randomDecision(_ rng: inout SeededGenerator) -> DecisionRecord {
    let id = randomID(&rng, .decision)
    let text = randomText(&rng, maxLength: 40)
    let rationale = randomText(&rng, maxLength: 40)
    var alternatives: [String] = []
    for _ in 0..<Int(rng.next() % 3) { alternatives.append(randomText(&rng, maxLength: 10)) }
    var affects: [String] = []
    for _ in 0..<Int(rng.next() % 3) { affects.append(randomID(&rng)) }
    let createdAt = randomTime(&rng)
    return DecisionRecord(
        id: id, text: text, rationale: rationale, alternatives: alternatives, affects: affects,
        createdAt: createdAt, createdBy: randomText(&rng, maxLength: 10), revision: Int(rng.next() % 1000))
}

private func randomHandoff(_ rng: inout SeededGenerator) -> HandoffRecord {
    let id = randomID(&rng, .handoff)
    let from = randomText(&rng, maxLength: 10)
    let to = randomText(&rng, maxLength: 10)
    let task = maybe(&rng) { randomID(&$0) }
    let instructions = randomText(&rng, maxLength: 60)
    let status = HandoffStatus.allCases[Int(rng.next() % UInt64(HandoffStatus.allCases.count))]
    var handoff = HandoffRecord(
        id: id, from: from, to: to, task: task, instructions: instructions, status: status,
        createdAt: randomTime(&rng))
    handoff.result = maybe(&rng) { randomText(&$0, maxLength: 20) }
    handoff.reason = maybe(&rng) { randomText(&$0, maxLength: 20) }
    handoff.updatedAt = randomTime(&rng)
    handoff.revision = Int(rng.next() % 10)
    return handoff
}

private func randomEntry(_ rng: inout SeededGenerator) -> HistoryEntry {
    let id = randomID(&rng)
    let revision = Int(rng.next() % 100)
    let at = randomTime(&rng)
    let by = randomText(&rng, maxLength: 10)
    let action = randomText(&rng, maxLength: 12)
    var changes: [FieldChange] = []
    for _ in 0..<Int(rng.next() % 4) {
        let field = randomText(&rng, maxLength: 8)
        let old = maybe(&rng) { randomText(&$0, maxLength: 20) }
        changes.append(FieldChange(field: field, old: old, new: maybe(&rng) { randomText(&$0, maxLength: 20) }))
    }
    return HistoryEntry(recordID: id, revision: revision, at: at, by: by, action: action, changes: changes)
}

private func creationReference(_ task: TaskRecord, _ actor: String) -> [UInt8] {
    Reference.history(
        HistoryEntry(
            recordID: task.id, revision: 1, at: task.createdAt, by: actor, action: "created",
            changes: task.changes(from: nil)))
}

private func hex16(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

private func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

// MARK: the reference encoder

/// The append-based encoder the records were written with before the two-pass one (format
/// version 1, Docs/Agents.md "Records on disk"), kept here to show the bytes did not change.
private struct Reference {
    var bytes: [UInt8] = []

    init(type: UInt8) { bytes = [1, type] }
    init() {}

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func uint(_ field: UInt8, _ value: UInt64) {
        bytes.append(field << 1)
        varint(value)
    }

    mutating func time(_ field: UInt8, _ value: Timestamp?) {
        if let v = value?.milliseconds { uint(field, UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    }

    mutating func string(_ field: UInt8, _ value: String?) {
        guard let value else { return }
        bytes.append(field << 1 | 1)
        varint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    mutating func nested(_ field: UInt8, _ record: Reference) {
        bytes.append(field << 1 | 1)
        varint(UInt64(record.bytes.count))
        bytes.append(contentsOf: record.bytes)
    }

    static func task(_ t: TaskRecord) -> [UInt8] {
        var w = Reference(type: 1)
        w.string(1, t.title)
        if !t.description.isEmpty { w.string(2, t.description) }
        w.uint(3, t.status.code)
        w.uint(4, UInt64(t.priority))
        for label in t.labels { w.string(5, label) }
        w.string(6, t.assignee)
        for id in t.dependsOn { w.string(7, id) }
        for note in t.notes {
            var n = Reference()
            n.time(1, note.at)
            n.string(2, note.by)
            n.string(3, note.text)
            w.nested(8, n)
        }
        w.time(9, t.createdAt)
        w.string(10, t.createdBy)
        w.time(11, t.updatedAt)
        w.uint(12, UInt64(t.revision))
        w.time(13, t.claimedAt)
        w.time(14, t.leaseExpiresAt)
        w.string(15, t.blockedReason)
        w.string(16, t.blocker)
        w.string(17, t.retrospective)
        w.time(18, t.closedAt)
        return w.bytes
    }

    static func decision(_ d: DecisionRecord) -> [UInt8] {
        var w = Reference(type: 2)
        w.string(1, d.text)
        if !d.rationale.isEmpty { w.string(2, d.rationale) }
        for a in d.alternatives { w.string(3, a) }
        for a in d.affects { w.string(4, a) }
        w.time(5, d.createdAt)
        w.string(6, d.createdBy)
        w.uint(7, UInt64(d.revision))
        return w.bytes
    }

    static func handoff(_ h: HandoffRecord) -> [UInt8] {
        var w = Reference(type: 3)
        w.string(1, h.from)
        w.string(2, h.to)
        w.string(3, h.task)
        w.string(4, h.instructions)
        w.uint(5, h.status.code)
        w.string(6, h.result)
        w.string(7, h.reason)
        w.time(8, h.createdAt)
        w.time(9, h.updatedAt)
        w.uint(10, UInt64(h.revision))
        return w.bytes
    }

    static func history(_ e: HistoryEntry) -> [UInt8] {
        var w = Reference(type: 4)
        w.time(1, e.at)
        w.string(2, e.by)
        w.string(3, e.action)
        for change in e.changes {
            var c = Reference()
            c.string(1, change.field)
            c.string(2, change.old)
            c.string(3, change.new)
            w.nested(4, c)
        }
        return w.bytes
    }
}
