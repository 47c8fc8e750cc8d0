import FuzzSupport
// fuzz-agent-records: the agent layer's record decoders (task, decision, hand-off, history entry)
// over arbitrary values, and the key parser of its indexes.
@_spi(Testing) import LogbookAgents

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        AgentRecordsTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-agent-records", AgentRecordsTarget.run) } }
#endif

/// Input: a control byte, then the stored value. Control bits 0-1 choose the decoder (0 task,
/// 1 decision, 2 hand-off, 3 history entry); bit 2 puts a valid header (format version 1 and
/// the chosen type) before the value, so that mutations reach the fields behind it.
///
/// Properties, whatever the bytes:
/// - a decoder returns a record iff the value is well formed by Docs/Agents.md (checked by a
///   field scanner of the fuzzer's own, `FieldScan`): the header is version 1 of its type, the
///   fields' framing holds, every field the type knows has its wire type (nested notes and
///   changes too), and a status code is known; otherwise it throws `corrupted` naming the
///   record; `TaskRecord.status` reads only up to the first status field, and agrees;
/// - a decoded record has the status, priority, revision and as many repeated values (labels,
///   dependencies, notes, alternatives, affected tasks, changes) as the fields say;
/// - it re-encodes to a value that decodes to an equal record, and re-encoding that gives the
///   same bytes (the encoding is canonical);
/// - a decoded task's creation history is byte for byte the entry of `changes(from: nil)`, and
///   decodes to it; each of its index keys starts under `ag/` and `KeyLayout.trailingID` finds
///   the task's id at the end of every key but the forward `depends-on` edges, where it finds
///   the dependency's last 26 bytes;
/// - `KeyLayout.trailingID` of the value as a key: nil iff shorter than an id, else its last 26
///   bytes.
enum AgentRecordsTarget {
    static let taskID = "T-20251226-112725-6e0cec19"
    static let decisionID = "D-20251226-112725-0badcafe"
    static let handoffID = "H-20251226-112725-deadbeef"

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let control = input.byte()
        let type = (control & 3) + 1
        var value = input.rest()
        if control & 4 != 0 { value = [1, type] + value }
        Fuzz.note("record type \(type), \(value.count) bytes")

        switch type {
        case 1: task(value)
        case 2: decision(value)
        case 3: handoff(value)
        default: history(value)
        }
        keyParser(value)
    }

    static func requireCorrupted(_ error: AgentError, naming what: String, _ kind: String) {
        Fuzz.require(error.code == .corrupted, "\(kind): \(error.code) thrown: \(error.message)")
        Fuzz.require(error.message.hasPrefix(what), "\(kind): the error does not name \(what): \(error.message)")
    }

    /// What `decode` makes of bytes the field scanner judged: the record, when it decodes and
    /// the scanner found it `wellFormed`; nil when it is refused with `corrupted` naming `what`
    /// and the scanner found it malformed; a fuzz failure when the two disagree.
    static func decodedIfWellFormed<R>(
        _ kind: String, naming what: String, wellFormed: Bool, _ decode: () throws(AgentError) -> R
    ) -> R? {
        let record: R
        do throws(AgentError) { record = try decode() } catch {
            requireCorrupted(error, naming: what, kind)
            Fuzz.require(!wellFormed, "\(kind): a well-formed record was refused: \(error.message)")
            return nil
        }
        if !wellFormed { Fuzz.fail("\(kind): a malformed record decoded: \(record)") }
        return record
    }

    /// `record`'s encoding decodes (through `decode`) to an equal record, whose encoding is the
    /// same bytes.
    static func requireRoundTrip<R: Equatable>(
        _ kind: String, _ record: R, _ encode: (R) -> [UInt8], _ decode: ([UInt8]) throws(AgentError) -> R
    ) {
        let encoded = encode(record)
        do throws(AgentError) {
            let again = try decode(encoded)
            Fuzz.require(again == record, "\(kind): re-encoded record decodes to \(again), not \(record)")
            Fuzz.require(encode(again) == encoded, "\(kind): the encoding is not canonical")
        } catch {
            Fuzz.fail("\(kind): re-encoded record does not decode: \(error.message)")
        }
    }

    // MARK: tasks

    static func task(_ value: [UInt8]) {
        let fields = FieldScan.wellFormed(
            value, type: 1, numbers: [3, 4, 9, 11, 12, 13, 14, 18], texts: [1, 2, 5, 6, 7, 10, 15, 16, 17],
            nested: 8, nestedNumbers: [1], nestedTexts: [2, 3])
        let expectedStatus = fields.map { $0.lastNumber(3) ?? 0 }
        let decodes = expectedStatus.map { $0 <= 4 } ?? false
        statusOnly(value)

        guard
            let task = decodedIfWellFormed(
                "task", naming: "task \(taskID)", wellFormed: decodes,
                { () throws(AgentError) in try TaskRecord(id: taskID, decoding: value) }),
            let fields
        else { return }
        Fuzz.require(task.id == taskID, "task: id \(task.id)")
        Fuzz.require(code(task.status) == expectedStatus, "task: status \(task.status)")
        Fuzz.require(
            task.priority == Int(truncatingIfNeeded: fields.lastNumber(4) ?? 2), "task: priority \(task.priority)")
        Fuzz.require(
            task.revision == Int(truncatingIfNeeded: fields.lastNumber(12) ?? 1), "task: revision \(task.revision)")
        Fuzz.require(
            task.labels.count == fields.count(5) && task.dependsOn.count == fields.count(7)
                && task.notes.count == fields.count(8),
            "task: \(task.labels.count) labels, \(task.dependsOn.count) dependencies, \(task.notes.count) notes")
        Fuzz.require((task.assignee != nil) == fields.has(6), "task: assignee \(String(describing: task.assignee))")
        Fuzz.require((task.closedAt != nil) == fields.has(18), "task: closed at \(String(describing: task.closedAt))")

        // Round trip.
        let encoded = task.encoded()
        do throws(AgentError) {
            let again = try TaskRecord(id: taskID, decoding: encoded)
            Fuzz.require(again == task, "task: re-encoded record decodes to \(again), not \(task)")
            Fuzz.require(again.encoded() == encoded, "task: the encoding is not canonical")
            let status = try TaskRecord.status(id: taskID, decoding: encoded)
            Fuzz.require(status == task.status, "task: status \(status) of the re-encoded record")
        } catch {
            Fuzz.fail("task: re-encoded record does not decode: \(error.message)")
        }

        // Creation history: the fast encoder against the entry of `changes(from: nil)`.
        let at = task.createdAt
        let creation = task.creationHistory(at: at, by: task.createdBy, action: "created")
        let changes = task.changes(from: nil)
        let entry = HistoryEntry(
            recordID: taskID, revision: 1, at: at, by: task.createdBy, action: "created", changes: changes)
        Fuzz.require(creation == entry.encoded(), "task: creation history differs from the entry of changes(from: nil)")
        do throws(AgentError) {
            let decoded = try HistoryEntry(recordID: taskID, revision: 1, decoding: creation)
            Fuzz.require(decoded == entry, "task: creation history decodes to \(decoded)")
        } catch {
            Fuzz.fail("task: creation history does not decode: \(error.message)")
        }

        // Index keys and the parser that reads ids back out of them.
        for done in [false, true] {
            let keys = task.indexKeys(dependenciesDone: done)
            var forward = 0
            for key in keys {
                Fuzz.require(key.starts(with: Array("ag/".utf8)), "task: index key outside ag/")
                if key.starts(with: Array("ag/e/".utf8)) {
                    guard forward < task.dependsOn.count else {
                        Fuzz.fail("task: more forward edges than dependencies")
                    }
                    let dependency = Array(task.dependsOn[forward].utf8)
                    let expected =
                        key.count >= 26 ? String(decoding: key[(key.count - 26)...], as: UTF8.self) : nil
                    Fuzz.require(
                        key == Array("ag/e/\(taskID)/depends-on/".utf8) + dependency, "task: edge key \(key)")
                    Fuzz.require(KeyLayout.trailingID(key) == expected, "task: trailingID of edge key \(key)")
                    forward += 1
                } else {
                    Fuzz.require(KeyLayout.trailingID(key) == taskID, "task: trailingID of index key \(key)")
                }
            }
            Fuzz.require(forward == task.dependsOn.count, "task: \(forward) forward edges")
        }
    }

    /// `TaskRecord.status`, which stops at the first status field.
    static func statusOnly(_ value: [UInt8]) {
        var expected: UInt64?  // nil: must throw
        if value.count >= 2, value[0] == 1, value[1] == 1 {
            let scan = FieldScan(value, 2..<value.count)
            if let first = scan.scanned.first(where: { $0.number == 3 }) {
                if case .number(let code) = first.value, code <= 4 { expected = code }
            } else if scan.complete {
                expected = 0
            }
        }
        do throws(AgentError) {
            let status = try TaskRecord.status(id: taskID, decoding: value)
            Fuzz.require(
                code(status) == expected, "status: \(status) read, expected code \(String(describing: expected))")
        } catch {
            requireCorrupted(error, naming: "task \(taskID)", "status")
            Fuzz.require(expected == nil, "status: refused, expected code \(String(describing: expected))")
        }
    }

    // MARK: decisions, hand-offs, history entries

    static func decision(_ value: [UInt8]) {
        let fields = FieldScan.wellFormed(value, type: 2, numbers: [5, 7], texts: [1, 2, 3, 4, 6])
        guard
            let decision = decodedIfWellFormed(
                "decision", naming: "decision \(decisionID)", wellFormed: fields != nil,
                { () throws(AgentError) in try DecisionRecord(id: decisionID, decoding: value) }),
            let fields
        else { return }
        Fuzz.require(
            decision.alternatives.count == fields.count(3) && decision.affects.count == fields.count(4),
            "decision: \(decision.alternatives.count) alternatives, \(decision.affects.count) affected")
        Fuzz.require(
            decision.revision == Int(truncatingIfNeeded: fields.lastNumber(7) ?? 1),
            "decision: revision \(decision.revision)")
        requireRoundTrip(
            "decision", decision, { $0.encoded() },
            { (bytes) throws(AgentError) in try DecisionRecord(id: decisionID, decoding: bytes) })
    }

    static func handoff(_ value: [UInt8]) {
        let fields = FieldScan.wellFormed(value, type: 3, numbers: [5, 8, 9, 10], texts: [1, 2, 3, 4, 6, 7])
        let expectedStatus = fields.map { $0.lastNumber(5) ?? 0 }
        let decodes = expectedStatus.map { $0 <= 3 } ?? false
        guard
            let handoff = decodedIfWellFormed(
                "hand-off", naming: "hand-off \(handoffID)", wellFormed: decodes,
                { () throws(AgentError) in try HandoffRecord(id: handoffID, decoding: value) }),
            let fields
        else { return }
        Fuzz.require(
            code(handoff.status) == expectedStatus && (handoff.task != nil) == fields.has(3)
                && handoff.revision == Int(truncatingIfNeeded: fields.lastNumber(10) ?? 1),
            "hand-off: status \(handoff.status), task \(String(describing: handoff.task)), revision \(handoff.revision)"
        )
        requireRoundTrip(
            "hand-off", handoff, { $0.encoded() },
            { (bytes) throws(AgentError) in try HandoffRecord(id: handoffID, decoding: bytes) })
    }

    static func history(_ value: [UInt8]) {
        let fields = FieldScan.wellFormed(
            value, type: 4, numbers: [1], texts: [2, 3], nested: 4, nestedTexts: [1, 2, 3])
        guard
            let entry = decodedIfWellFormed(
                "history", naming: "history of \(taskID) revision 7", wellFormed: fields != nil,
                { () throws(AgentError) in try HistoryEntry(recordID: taskID, revision: 7, decoding: value) }),
            let fields
        else { return }
        Fuzz.require(entry.recordID == taskID && entry.revision == 7, "history: key fields changed")
        Fuzz.require(entry.changes.count == fields.count(4), "history: \(entry.changes.count) changes")
        requireRoundTrip(
            "history", entry, { $0.encoded() },
            { (bytes) throws(AgentError) in try HistoryEntry(recordID: taskID, revision: 7, decoding: bytes) })
    }

    /// The stored status codes (Sources/LogbookAgents/Model: never renumbered).
    static func code(_ status: TaskStatus) -> UInt64 {
        UInt64([TaskStatus.open, .inProgress, .blocked, .done, .cancelled].firstIndex(of: status)!)
    }

    static func code(_ status: HandoffStatus) -> UInt64 {
        UInt64([HandoffStatus.initiated, .accepted, .completed, .rejected].firstIndex(of: status)!)
    }

    // MARK: keys

    /// `KeyLayout.trailingID` of the value taken as a stored key.
    static func keyParser(_ key: [UInt8]) {
        let id = KeyLayout.trailingID(key)
        if key.count < 26 {
            Fuzz.require(id == nil, "trailingID of a \(key.count)-byte key")
        } else {
            Fuzz.require(
                id == String(decoding: key[(key.count - 26)...], as: UTF8.self), "trailingID: \(String(describing: id))"
            )
        }
    }
}
