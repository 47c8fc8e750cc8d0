// Task operations: create, read, update, start, complete, block, dependencies, delete, history.

extension AgentBoard {
    /// Creates a task (status open) and returns it.
    ///
    /// One transaction: a fresh id (checked unused), the record, its index entries and edges,
    /// the history entry; with `blocks`, each named task also gets a `depends-on` edge to it.
    /// - Throws: `invalidArgument` for bad fields, `notFound` for an unknown dependency,
    ///   `conflict` for a dependency cycle (only possible through `blocks`).
    @discardableResult
    public func createTask(_ new: NewTask, by actor: String) throws -> TaskRecord {
        let (new, actor) = try Self.validate(new, by: actor)
        return try write { t in try t.createTask(new, by: actor) }
    }

    /// `new` and `actor` as `createTask` would store them (labels and ids sorted, without
    /// duplicates), or the `invalidArgument` error it would throw; touches no storage, so a
    /// caller can refuse bad input before opening a store.
    public static func validate(_ new: NewTask, by actor: String) throws(AgentError) -> (NewTask, String) {
        let actor = try Validation.name(actor, "agent name")
        // A new value built from the checked fields (in the order they are checked), not a
        // copy of `new` changed field by field: creating tasks is hot.
        let checked = NewTask(
            title: try Validation.title(new.title),
            description: try Validation.text(new.description, "description"),
            priority: try Priority.validated(new.priority),
            labels: try Validation.names(new.labels, "label"),
            dependsOn: try Validation.ids(new.dependsOn, .task),
            blocks: try Validation.ids(new.blocks, .task),
            assignee: try new.assignee.map { (name) throws(AgentError) in try Validation.name(name, "assignee") })
        return (consume checked, actor)
    }

    /// The task `id`.
    /// - Throws: `invalidArgument` for a malformed id, `notFound`.
    public func task(_ id: String) throws -> TaskRecord {
        let id = try RecordID.validated(id, kind: .task)
        return try read { try $0.task(id) }
    }

    /// Applies `update` to task `id` in one transaction and returns the task. A status change
    /// must be allowed by `TaskStatus.canMove(to:)`. Leaving in-progress ends a claim's lease;
    /// reaching done or cancelled sets `closedAt`; reopening clears it; leaving blocked clears
    /// the reason. An update that changes nothing writes nothing.
    /// - Throws: `invalidArgument`, `notFound`, `conflict` (a forbidden status move).
    @discardableResult
    public func updateTask(_ id: String, _ update: TaskUpdate, by actor: String) throws -> TaskRecord {
        let id = try RecordID.validated(id, kind: .task)
        let actor = try Validation.name(actor, "agent name")
        let title = try update.title.map { (t) throws(AgentError) in try Validation.title(t) }
        let description = try update.description.map { (d) throws(AgentError) in
            try Validation.text(d, "description")
        }
        let priority = try update.priority.map { (p) throws(AgentError) in try Priority.validated(p) }
        let add = try Validation.names(update.addLabels, "label")
        let remove = try Validation.names(update.removeLabels, "label")
        let note = try update.note.map { (n) throws(AgentError) in
            try Validation.text(n, "note", required: true)
        }
        var assignment = update.assignee
        if case .set(let name) = assignment { assignment = .set(try Validation.name(name, "assignee")) }
        return try write { t in
            let old = try t.reads.task(id)
            var task = old
            if let title { task.title = title }
            if let description { task.description = description }
            if let priority { task.priority = priority }
            task.labels = Array(Set(task.labels).union(add).subtracting(remove)).sorted()
            switch assignment {
            case .keep: break
            case .set(let name):
                if task.assignee != name { task.endClaim() }
                task.assignee = name
            case .clear:
                task.endClaim()
                task.assignee = nil
            }
            if let note { task.notes.append(TaskNote(at: t.now, by: actor, text: note)) }
            if let status = update.status, status != task.status {
                try task.move(to: status, at: t.now)
            }
            return try t.saveTask(task, old: old, by: actor, action: "updated")
        }
    }

    /// Marks task `id` in progress, assigned to `agent` (if unassigned, or its holder's lease
    /// lapsed; a start takes no lease).
    /// - Throws: `notFound`; `conflict` when it cannot move to in-progress, or when
    ///   `enforceClaim` and another agent has it.
    @discardableResult
    public func startTask(_ id: String, by agent: String, enforceClaim: Bool = true) throws -> TaskRecord {
        let id = try RecordID.validated(id, kind: .task)
        let agent = try Validation.name(agent, "agent name")
        return try write { t in
            let old = try t.reads.task(id)
            if enforceClaim { try old.checkNotHeldByOther(than: agent, at: t.now) }
            var task = old
            if task.status != .inProgress { try task.move(to: .inProgress, at: t.now) }
            if task.assignee == nil || task.leaseLapsed(at: t.now) {
                task.assignee = agent  // unassigned, or its holder's lease lapsed: take it
                task.endClaim()
            }
            return try t.saveTask(task, old: old, by: agent, action: "started")
        }
    }

    /// Marks task `id` done, with what was learned. Ends any claim's lease (the assignee stays
    /// recorded). Tasks waiting only for this one become ready.
    /// - Throws: `notFound`; `conflict` when it is already done, cancelled or blocked, or when
    ///   `enforceClaim` and another agent has it (a lost claim).
    @discardableResult
    public func completeTask(
        _ id: String, retrospective: String? = nil, by agent: String, enforceClaim: Bool = true
    ) throws -> TaskRecord {
        let id = try RecordID.validated(id, kind: .task)
        let agent = try Validation.name(agent, "agent name")
        let retrospective = try retrospective.map { (r) throws(AgentError) in
            try Validation.text(r, "retrospective")
        }
        return try write { t in
            let old = try t.reads.task(id)
            if enforceClaim { try old.checkNotHeldByOther(than: agent, at: t.now) }
            var task = old
            try task.move(to: .done, at: t.now)
            if let retrospective, !retrospective.isEmpty { task.retrospective = retrospective }
            return try t.saveTask(task, old: old, by: agent, action: "completed")
        }
    }

    /// Marks task `id` blocked, saying why; with `blocker`, also makes it depend on that task.
    /// - Throws: `invalidArgument` (empty reason), `notFound` (task or blocker), `conflict` (it
    ///   cannot move to blocked, or the blocker depends on it).
    @discardableResult
    public func blockTask(_ id: String, reason: String, blocker: String? = nil, by actor: String) throws
        -> TaskRecord
    {
        let id = try RecordID.validated(id, kind: .task)
        let actor = try Validation.name(actor, "agent name")
        let reason = try Validation.text(reason, "reason", required: true)
        let blocker = try blocker.map { (b) throws(AgentError) in try RecordID.validated(b, kind: .task) }
        if blocker == id { throw AgentError.invalid("task \(id) cannot block itself") }
        return try write { t in
            let old = try t.reads.task(id)
            var task = old
            if task.status != .blocked { try task.move(to: .blocked, at: t.now) }
            task.blockedReason = reason
            if let blocker {
                guard try t.reads.status(of: blocker) != nil else {
                    throw AgentError.notFound("task \(blocker) not found (named as the blocker)")
                }
                try t.checkNoCycle(id, dependsOn: blocker)
                task.blocker = blocker
                if !task.dependsOn.contains(blocker) {
                    task.dependsOn = (task.dependsOn + [blocker]).sorted()
                }
            }
            return try t.saveTask(task, old: old, by: actor, action: "blocked")
        }
    }

    /// Makes task `id` depend on each of `dependencies` (or, with `remove`, no longer).
    /// - Throws: `invalidArgument` (a task depending on itself), `notFound`, `conflict` (a cycle).
    @discardableResult
    public func setDependencies(
        _ id: String, on dependencies: [String], remove: Bool = false, by actor: String
    )
        throws -> TaskRecord
    {
        let id = try RecordID.validated(id, kind: .task)
        let actor = try Validation.name(actor, "agent name")
        let dependencies = try Validation.ids(dependencies, .task)
        if dependencies.contains(id) { throw AgentError.invalid("task \(id) cannot depend on itself") }
        return try write { t in
            let old = try t.reads.task(id)
            var task = old
            if remove {
                task.dependsOn.removeAll { dependencies.contains($0) }
                if let blocker = task.blocker, dependencies.contains(blocker) { task.blocker = nil }
            } else {
                for dependency in dependencies where !task.dependsOn.contains(dependency) {
                    guard try t.reads.status(of: dependency) != nil else {
                        throw AgentError.notFound("task \(dependency) not found (named as a dependency)")
                    }
                    try t.checkNoCycle(id, dependsOn: dependency)
                    task.dependsOn.append(dependency)
                }
                task.dependsOn.sort()
            }
            return try t.saveTask(task, old: old, by: actor, action: "dependencies")
        }
    }

    /// Deletes task `id`: its record, indexes and edges; it disappears from the dependencies
    /// of tasks that waited for it. Its history stays (ending with a `deleted` entry), and so do
    /// decisions and hand-offs that name it.
    /// - Throws: `notFound`.
    public func deleteTask(_ id: String, by actor: String) throws {
        let id = try RecordID.validated(id, kind: .task)
        let actor = try Validation.name(actor, "agent name")
        try write { t in try t.removeTask(try t.reads.task(id), by: actor) }
    }

    /// Every change to record `id` (task, decision or hand-off), oldest first; a deleted
    /// task's history included.
    /// - Throws: `notFound` when no record with that id ever existed.
    public func history(of id: String) throws -> [HistoryEntry] {
        guard RecordKind.allCases.contains(where: { RecordID.isValid(id, kind: $0) }) else {
            throw AgentError.invalid(
                "\"\(id)\" is not a record id (expected T-, D- or H-YYYYMMDD-HHMMSS-xxxxxxxx)")
        }
        let entries = try read { try $0.history(of: id) }
        guard !entries.isEmpty else { throw AgentError.notFound("no history for \(id): it never existed") }
        return entries
    }
}

extension BoardTransaction {
    /// `AgentBoard.createTask` inside its transaction, with `new` and `actor` validated.
    func createTask(_ new: NewTask, by actor: String) throws -> TaskRecord {
        let (id, historyKey) = try newIDAndFirstHistoryKey(.task)
        for dependency in new.dependsOn where try reads.status(of: dependency) == nil {
            throw AgentError.notFound("task \(dependency) not found (named as a dependency)")
        }
        let task = TaskRecord(
            id: id, title: new.title, description: new.description, priority: new.priority, labels: new.labels,
            assignee: new.assignee, dependsOn: new.dependsOn, createdAt: now, createdBy: actor, revision: 1)
        try insertNewTask(task, by: actor, action: "created", historyKey: historyKey)
        for blocked in new.blocks {
            let old = try reads.task(blocked)
            try checkNoCycle(blocked, dependsOn: id)
            var changed = old
            changed.dependsOn = Array(Set(old.dependsOn + [id])).sorted()
            try saveTask(changed, old: old, by: actor, action: "dependencies")
        }
        return consume task
    }
}

extension TaskRecord {
    /// Moves to `status` if the state machine allows it, keeping the fields that depend on the
    /// status consistent.
    mutating func move(to next: TaskStatus, at now: Timestamp) throws(AgentError) {
        guard status.canMove(to: next) else {
            throw AgentError.conflict("task \(id) is \(status.rawValue); it cannot become \(next.rawValue)")
        }
        if status == .inProgress { endClaim() }
        if status == .blocked { blockedReason = nil }
        if next.isClosed { closedAt = now }
        if next == .open { closedAt = nil }
        if next == .open && status.isClosed { retrospective = nil }
        status = next
    }

    /// Ends the current claim's lease (the assignee stays).
    mutating func endClaim() {
        claimedAt = nil
        leaseExpiresAt = nil
    }

    /// Whether the lease of the current claim has run out at `now`.
    func leaseLapsed(at now: Timestamp) -> Bool {
        guard let leaseExpiresAt else { return false }
        return leaseExpiresAt <= now
    }

    /// Fails with `conflict` when an agent other than `agent` holds the task (by a live claim,
    /// or by assignment without a lease).
    func checkNotHeldByOther(than agent: String, at now: Timestamp) throws(AgentError) {
        guard let assignee, assignee != agent, !leaseLapsed(at: now) else { return }
        var message = "task \(id) is held by \(assignee), not \(agent)"
        if let leaseExpiresAt { message += " (lease until \(leaseExpiresAt.iso8601))" }
        throw AgentError.conflict(message)
    }
}
