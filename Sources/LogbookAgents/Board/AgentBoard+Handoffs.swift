// Hand-offs: work passed from one agent to another.

/// Which hand-offs `AgentBoard.handoffs(_:)` lists (in id order: oldest first, to the second).
public struct HandoffQuery: Sendable, Equatable {
    public var status: HandoffStatus?
    public var to: String?
    public var from: String?
    public var task: String?
    public var limit: Int?

    public init(
        status: HandoffStatus? = nil, to: String? = nil, from: String? = nil, task: String? = nil,
        limit: Int? = nil
    ) {
        self.status = status
        self.to = to
        self.from = from
        self.task = task
        self.limit = limit
    }
}

extension AgentBoard {
    /// Hands work from agent `from` to agent `to`, optionally about a task (which must exist).
    /// - Throws: `invalidArgument` (empty instructions, `from` equal to `to`), `notFound` (task).
    @discardableResult
    public func initiateHandoff(
        from: String, to: String, task: String? = nil, instructions: String, by actor: String? = nil
    ) throws -> HandoffRecord {
        let (from, to, task, instructions, actor) = try Self.validateHandoff(
            from: from, to: to, task: task, instructions: instructions, by: actor)
        return try write { t in
            if let task, try t.reads.status(of: task) == nil {
                throw AgentError.notFound("task \(task) not found")
            }
            let handoff = HandoffRecord(
                id: try t.newID(.handoff), from: from, to: to, task: task, instructions: instructions,
                createdAt: t.now)
            var changes = [
                FieldChange(field: "from", old: nil, new: from), FieldChange(field: "to", old: nil, new: to),
            ]
            if let task { changes.append(FieldChange(field: "task", old: nil, new: task)) }
            return try t.saveHandoff(handoff, old: nil, by: actor, action: "initiated", changes: changes)
        }
    }

    /// The values `initiateHandoff` would store, or the `invalidArgument` error it would
    /// throw; touches no storage.
    public static func validateHandoff(
        from: String, to: String, task: String? = nil, instructions: String, by actor: String? = nil
    ) throws(AgentError) -> (from: String, to: String, task: String?, instructions: String, actor: String) {
        let from = try Validation.name(from, "sending agent")
        let to = try Validation.name(to, "receiving agent")
        let actor = try Validation.name(actor ?? from, "agent name")
        if from == to { throw AgentError.invalid("a hand-off needs two different agents, got \(from) twice") }
        let instructions = try Validation.text(instructions, "instructions", required: true)
        let task = try task.map { (t) throws(AgentError) in try RecordID.validated(t, kind: .task) }
        return (from, to, task, instructions, actor)
    }

    /// The receiving agent accepts hand-off `id`. Its task, if any and still open or in
    /// progress, is assigned to the receiver (a claim's lease moves with it).
    /// - Parameter agent: who accepts; must be the receiver (nil: the receiver).
    /// - Throws: `notFound`; `conflict` when it is not `initiated`, or `agent` is not the receiver.
    @discardableResult
    public func acceptHandoff(_ id: String, agent: String? = nil) throws -> HandoffRecord {
        try moveHandoff(id, to: .accepted, agent: agent, action: "accepted") { t, handoff in
            guard let taskID = handoff.task, let old = try t.reads.taskIfPresent(taskID),
                !old.status.isClosed,
                old.status != .blocked, old.assignee != handoff.to
            else { return }
            var task = old
            task.assignee = handoff.to
            if old.leaseExpiresAt != nil {
                task.claimedAt = t.now
                task.leaseExpiresAt = t.now.adding(seconds: self.defaultLeaseSeconds)
            }
            try t.saveTask(task, old: old, by: handoff.to, action: "handed-off")
        }
    }

    /// The receiving agent reports hand-off `id` done, with its result.
    /// - Throws: `notFound`; `conflict` when it is not `accepted`, or `agent` is not the receiver.
    @discardableResult
    public func completeHandoff(_ id: String, result: String, agent: String? = nil) throws -> HandoffRecord {
        let result = try Validation.text(result, "result")
        return try moveHandoff(id, to: .completed, agent: agent, action: "completed") { _, _ in
        } update: {
            $0.result = result.isEmpty ? nil : result
        }
    }

    /// The receiving agent declines hand-off `id` (initiated or accepted), saying why.
    /// - Throws: `notFound`; `conflict` when it is already completed or rejected, or `agent`
    ///   is not the receiver.
    @discardableResult
    public func rejectHandoff(_ id: String, reason: String, agent: String? = nil) throws -> HandoffRecord {
        let reason = try Validation.text(reason, "reason")
        return try moveHandoff(id, to: .rejected, agent: agent, action: "rejected") { _, _ in
        } update: {
            $0.reason = reason.isEmpty ? nil : reason
        }
    }

    /// The hand-off `id`.
    public func handoff(_ id: String) throws -> HandoffRecord {
        let id = try RecordID.validated(id, kind: .handoff)
        return try read { try $0.handoff(id) }
    }

    /// The hand-offs `query` selects, in id order (oldest first, to the second).
    public func handoffs(_ query: HandoffQuery = HandoffQuery()) throws -> [HandoffRecord] {
        let limit = try Validation.limit(query.limit) ?? Int.max
        let to = try query.to.map { (a) throws(AgentError) in try Validation.name(a, "receiving agent") }
        let from = try query.from.map { (a) throws(AgentError) in try Validation.name(a, "sending agent") }
        let task = try query.task.map { (t) throws(AgentError) in try RecordID.validated(t, kind: .task) }
        guard limit > 0 else { return [] }
        return try read { s in
            // Driving index: task, receiver, sender, status, or all records.
            let prefix: [UInt8]
            if let task {
                prefix = KeyLayout.edgesTo(task, .handsOff)
            } else if let to {
                prefix = KeyLayout.handoffToPrefix(to)
            } else if let from {
                prefix = KeyLayout.handoffFromPrefix(from)
            } else if let status = query.status {
                prefix = KeyLayout.handoffStatusPrefix(status)
            } else {
                prefix = KeyLayout.handoffPrefix
            }
            var out: [HandoffRecord] = []
            var start = prefix
            let end = KeyRange.successor(ofPrefix: prefix)
            while out.count < limit {
                let pairs = try s.reader.scan(KeyRange(start: start, end: end, limit: 256))
                for pair in pairs {
                    guard let id = KeyLayout.trailingID(pair.key) else { continue }
                    let handoff = try s.handoff(id)
                    if let status = query.status, handoff.status != status { continue }
                    if let to, handoff.to != to { continue }
                    if let from, handoff.from != from { continue }
                    if let task, handoff.task != task { continue }
                    out.append(handoff)
                    if out.count == limit { break }
                }
                guard pairs.count == 256, let last = pairs.last else { break }
                start = last.key + [0]
            }
            return out
        }
    }

    /// Moves hand-off `id` to `next` if its state machine allows it; `effect` runs in the same
    /// transaction (on the task), `update` changes the record's fields.
    private func moveHandoff(
        _ id: String, to next: HandoffStatus, agent: String?, action: String,
        effect: (BoardTransaction, HandoffRecord) throws -> Void,
        update: (inout HandoffRecord) -> Void = { _ in }
    ) throws -> HandoffRecord {
        let id = try RecordID.validated(id, kind: .handoff)
        let agent = try agent.map { (a) throws(AgentError) in try Validation.name(a, "agent name") }
        return try write { t in
            let old = try t.reads.handoff(id)
            if let agent, agent != old.to {
                throw AgentError.conflict("hand-off \(id) is addressed to \(old.to), not \(agent)")
            }
            guard old.status.canMove(to: next) else {
                throw AgentError.conflict(
                    "hand-off \(id) is \(old.status.rawValue); it cannot become \(next.rawValue)")
            }
            var handoff = old
            handoff.status = next
            update(&handoff)
            var changes = [FieldChange(field: "status", old: old.status.rawValue, new: next.rawValue)]
            if handoff.result != old.result {
                changes.append(FieldChange(field: "result", old: nil, new: handoff.result))
            }
            if handoff.reason != old.reason {
                changes.append(FieldChange(field: "reason", old: nil, new: handoff.reason))
            }
            let saved = try t.saveHandoff(handoff, old: old, by: old.to, action: action, changes: changes)
            try effect(t, saved)
            return saved
        }
    }
}

extension HandoffStatus {
    /// initiated → accepted or rejected; accepted → completed or rejected.
    public func canMove(to next: HandoffStatus) -> Bool {
        switch (self, next) {
        case (.initiated, .accepted), (.initiated, .rejected), (.accepted, .completed),
            (.accepted, .rejected):
            return true
        default: return false
        }
    }
}

extension HandoffRecord {
    /// Its index entries and its `hands-off` edge.
    var derivedKeys: [[UInt8]] {
        var keys = [
            KeyLayout.handoffStatusPrefix(status) + Array(id.utf8),
            KeyLayout.handoffToPrefix(to) + Array(id.utf8),
            KeyLayout.handoffFromPrefix(from) + Array(id.utf8),
        ]
        if let task {
            let edge = Edge(from: id, kind: .handsOff, to: task)
            keys += [KeyLayout.edge(edge), KeyLayout.reverseEdge(edge)]
        }
        return keys
    }
}

extension BoardTransaction {
    /// Writes a created or changed hand-off with its indexes and a history entry.
    func saveHandoff(
        _ new: HandoffRecord, old: HandoffRecord?, by actor: String, action: String, changes: [FieldChange]
    ) throws -> HandoffRecord {
        var new = new
        if let old {
            new.revision = old.revision + 1
            new.updatedAt = now
        }
        try tx.put(KeyLayout.record(.handoff, new.id), new.encoded())
        try replaceKeys(old?.derivedKeys ?? [], with: new.derivedKeys)
        try recordHistory(new.id, revision: new.revision, by: actor, action: action, changes: changes)
        return new
    }
}
