// Decisions: logged once, never changed; `why TASK` is a scan of the task's `affected-by` edges.

extension AgentBoard {
    /// Logs a decision and returns it.
    /// - Parameters:
    ///   - affects: ids of the tasks it affects (each must exist).
    /// - Throws: `invalidArgument` (empty text, bad ids), `notFound` (an affected task).
    @discardableResult
    public func logDecision(
        _ text: String, rationale: String = "", alternatives: [String] = [], affects: [String] = [],
        by actor: String
    ) throws -> DecisionRecord {
        let (text, rationale, checked, affects, actor) = try Self.validateDecision(
            text, rationale: rationale, alternatives: alternatives, affects: affects, by: actor)
        return try write { t in
            for task in affects where try t.reads.status(of: task) == nil {
                throw AgentError.notFound("task \(task) not found (named as affected)")
            }
            let decision = DecisionRecord(
                id: try t.newID(.decision), text: text, rationale: rationale, alternatives: checked,
                affects: affects, createdAt: t.now, createdBy: actor)
            try t.tx.put(KeyLayout.record(.decision, decision.id), decision.encoded())
            for key in decision.derivedKeys { try t.tx.put(key, []) }
            var changes = [FieldChange(field: "text", old: nil, new: text)]
            if !affects.isEmpty {
                changes.append(FieldChange(field: "affects", old: nil, new: affects.joined(separator: ",")))
            }
            try t.recordHistory(decision.id, revision: 1, by: actor, action: "logged", changes: changes)
            return decision
        }
    }

    /// The values `logDecision` would store, or the `invalidArgument` error it would throw;
    /// touches no storage.
    public static func validateDecision(
        _ text: String, rationale: String = "", alternatives: [String] = [], affects: [String] = [],
        by actor: String
    ) throws(AgentError) -> (
        text: String, rationale: String, alternatives: [String], affects: [String], actor: String
    ) {
        let actor = try Validation.name(actor, "agent name")
        let text = try Validation.text(text, "decision text", required: true)
        let rationale = try Validation.text(rationale, "rationale")
        var checked: [String] = []
        for alternative in alternatives {
            checked.append(try Validation.text(alternative, "alternative", required: true))
        }
        return (text, rationale, checked, try Validation.ids(affects, .task), actor)
    }

    /// The decision `id`.
    public func decision(_ id: String) throws -> DecisionRecord {
        let id = try RecordID.validated(id, kind: .decision)
        return try read { try $0.decision(id) }
    }

    /// Decisions in id order (creation time to the second, then the random part), at most `limit`; with `affecting`, only those
    /// that affect that task.
    public func decisions(affecting task: String? = nil, limit: Int? = nil) throws -> [DecisionRecord] {
        let limit = try Validation.limit(limit)
        if let task { return Array(try why(task).prefix(limit ?? Int.max)) }
        return try read { s in
            try s.reader.scan(KeyRange(prefix: KeyLayout.decisionPrefix, limit: limit)).map { pair in
                try DecisionRecord(id: KeyLayout.trailingID(pair.key) ?? "", decoding: pair.value)
            }
        }
    }

    /// The decisions that affect task `id`, in id order (also for a deleted task).
    /// - Throws: `notFound` when no task with that id ever existed.
    public func why(_ task: String) throws -> [DecisionRecord] {
        let task = try RecordID.validated(task, kind: .task)
        return try read { s in
            guard try s.everExisted(task) else { throw AgentError.notFound("task \(task) not found") }
            return try s.sources(of: task, .affects).map { try s.decision($0) }
        }
    }
}

extension DecisionRecord {
    /// Its `affects` edges, both directions.
    var derivedKeys: [[UInt8]] {
        affects.flatMap { task in
            let edge = Edge(from: id, kind: .affects, to: task)
            return [KeyLayout.edge(edge), KeyLayout.reverseEdge(edge)]
        }
    }
}
