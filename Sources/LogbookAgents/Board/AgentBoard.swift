/// Tasks, decisions and hand-offs shared by agents, on any `KeyValueBackend`.
///
///     let board = AgentBoard(backend: try Store(path: ".logbook"))
///     let task = try board.createTask(NewTask(title: "Write the parser", priority: 1), by: "planner")
///     if let next = try board.claimNext(agent: "worker-1") {
///         // ... do the work ...
///         try board.completeTask(next.id, retrospective: "done in two passes", agent: "worker-1")
///     }
///
/// Every operation is one serializable transaction of the backend: the record, every index
/// entry and edge derived from it, and a history entry are written together or not at all, so
/// two agents never claim the same task and a reader never sees half an update. Reads take one
/// consistent snapshot. Records are the truth; `verifyIndexes()` rebuilds everything derived
/// from them and reports any difference. See Docs/Agents.md for the data model and key layout.
public final class AgentBoard: Sendable {
    /// Where the records live.
    public let backend: any KeyValueBackend
    /// Seconds a claim lasts unless renewed (claiming again) when `claim` is given none.
    public let defaultLeaseSeconds: Double
    let clock: @Sendable () -> Timestamp
    let random = IDRandom()

    /// - Parameters:
    ///   - backend: the storage, e.g. a Logbook `Store`.
    ///   - defaultLeaseSeconds: how long a claim lasts by default (30 minutes).
    ///   - clock: the wall clock (tests pass their own to expire leases).
    public init(
        backend: any KeyValueBackend, defaultLeaseSeconds: Double = 1800,
        clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }
    ) {
        self.backend = backend
        self.defaultLeaseSeconds = defaultLeaseSeconds
        self.clock = clock
    }

    /// Runs `body` in one transaction of the backend, with the time fixed for that attempt.
    ///
    /// The result leaves through a local variable, so the backend's generic (unspecialized,
    /// across the protocol) `withTransaction` returns `Void` and never copies a record through
    /// value witnesses; it is moved out of that variable (`take()`), not copied.
    func write<T>(_ body: (BoardTransaction) throws -> T) throws -> T {
        var result: T?
        try backend.withTransaction { tx in
            result = try body(BoardTransaction(tx: tx, now: clock(), board: self))
        }
        return result.take()!
    }

    /// Runs `body` on one consistent snapshot.
    func read<T>(_ body: (BoardSnapshot) throws -> T) throws -> T {
        var result: T?
        try backend.withSnapshot { snapshot in result = try body(BoardSnapshot(reader: snapshot, now: clock())) }
        return result.take()!
    }
}

/// Reads of records and indexes, on a snapshot or inside a transaction.
struct BoardSnapshot {
    let reader: any KeyValueReading
    let now: Timestamp

    /// What `body` makes of the value of `key` (nil when absent), lent by the backend: records
    /// are decoded from the stored bytes, not from a copy. (A method of this struct, not of the
    /// protocol: generic over the reader too, it would not be specialized, and would look up
    /// the metadata of `R?` at every call.)
    private func decoded<R>(_ key: [UInt8], _ body: (_ value: UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var result: R? = nil
        try reader.lendValue(of: key) { result = try body($0) }
        return result.take()!
    }

    func taskIfPresent(_ id: String) throws -> TaskRecord? {
        try decoded(KeyLayout.task(id)) { value in
            guard let value else { return nil }
            return try TaskRecord.decoded(id: id, from: value)
        }
    }

    func task(_ id: String) throws -> TaskRecord {
        guard let task = try taskIfPresent(id) else { throw AgentError.notFound("task \(id) not found") }
        return task
    }

    func decision(_ id: String) throws -> DecisionRecord {
        try decoded(KeyLayout.record(.decision, id)) { value in
            guard let value else { throw AgentError.notFound("decision \(id) not found") }
            return try DecisionRecord(id: id, decodingBytes: value)
        }
    }

    func handoff(_ id: String) throws -> HandoffRecord {
        try decoded(KeyLayout.record(.handoff, id)) { value in
            guard let value else { throw AgentError.notFound("hand-off \(id) not found") }
            return try HandoffRecord(id: id, decodingBytes: value)
        }
    }

    /// Whether a record with this id was ever created (its first history entry exists).
    func everExisted(_ id: String) throws -> Bool {
        try reader.get(KeyLayout.history(id, revision: 1)) != nil
    }

    /// The status of task `id`, nil when it does not exist.
    func status(of id: String) throws -> TaskStatus? {
        try decoded(KeyLayout.task(id)) { value in
            guard let value else { return nil }
            return try TaskRecord.status(id: id, decodingBytes: value)
        }
    }

    /// Whether every task `task` depends on is done.
    func dependenciesDone(_ task: TaskRecord) throws -> Bool {
        for dependency in task.dependsOn where try status(of: dependency) != .done { return false }
        return true
    }

    /// The ids of the tasks that depend on `id` (its `blocks` edges).
    func dependents(of id: String) throws -> [String] {
        try sources(of: id, .dependsOn)
    }

    /// The ids at the source of `kind` edges ending at `id`.
    func sources(of id: String, _ kind: EdgeKind) throws -> [String] {
        try reader.scan(KeyRange(prefix: KeyLayout.edgesTo(id, kind))).compactMap {
            KeyLayout.trailingID($0.key)
        }
    }

    /// The history of record `id`, oldest first.
    func history(of id: String) throws -> [HistoryEntry] {
        let prefix = KeyLayout.historyPrefix(id)
        return try reader.scan(KeyRange(prefix: prefix)).map { pair in
            let hex = pair.key[prefix.count...]
            let revision = Int(String(decoding: hex, as: UTF8.self), radix: 16) ?? 0
            return try HistoryEntry(recordID: id, revision: revision, decoding: pair.value)
        }
    }
}

/// Reads and writes inside one transaction.
struct BoardTransaction {
    let tx: any KeyValueWriting
    let now: Timestamp
    let board: AgentBoard

    var reads: BoardSnapshot { BoardSnapshot(reader: tx, now: now) }

    /// A fresh id of `kind`, checked unused in this transaction: its first history entry is
    /// absent (that also covers deleted tasks). A concurrent creator of the same id conflicts
    /// with this transaction, which then runs again with new random bits.
    func newID(_ kind: RecordKind) throws -> String { try newIDAndFirstHistoryKey(kind).id }

    /// `newID`, with the key of the id's first history entry (the key it checked), which the
    /// creating transaction writes next.
    func newIDAndFirstHistoryKey(_ kind: RecordKind) throws -> (id: String, historyKey: [UInt8]) {
        for _ in 0..<8 {
            let id = RecordID.make(kind, at: now, random: board.random.next())
            let key = KeyLayout.history(id, revision: 1)
            if try tx.get(key) == nil { return (id, key) }
        }
        throw AgentError.conflict("could not find an unused \(kind.noun) id in 8 tries")
    }

    /// Appends the history entry for `revision` of record `id`.
    func recordHistory(_ id: String, revision: Int, by: String, action: String, changes: [FieldChange]) throws {
        let entry = HistoryEntry(
            recordID: id, revision: revision, at: now, by: by, action: action, changes: changes)
        try tx.put(KeyLayout.history(id, revision: revision), entry.encoded())
    }

    /// Replaces the keys in `old` by those in `new`: deletes what is gone, puts what is new.
    func replaceKeys(_ old: [[UInt8]], with new: [[UInt8]]) throws {
        for key in old where !new.contains(key) { try tx.delete(key) }
        for key in new where !old.contains(key) { try tx.put(key, []) }
    }
}
