// What a task record contributes to the indexes and edges (see KeyLayout), and how two
// revisions of a record differ (for history entries).

extension TaskRecord {
    /// Every index entry and edge of this record: its own, then the readiness entry.
    @_spi(Testing) public func indexKeys(dependenciesDone: Bool) -> [[UInt8]] {
        var keys: [[UInt8]] = []
        keys.reserveCapacity(4 + labels.count + 2 * dependsOn.count)
        forEachIndexKey(dependenciesDone: dependenciesDone) { keys.append($0) }
        return keys
    }

    /// Calls `body` with each key `indexKeys` returns, in the same order.
    func forEachIndexKey<E: Error>(
        dependenciesDone: Bool, _ body: ([UInt8]) throws(E) -> Void
    ) throws(E) {
        try body(KeyLayout.ranked(KeyLayout.statusPrefix(status), priority, id))
        for label in labels { try body(KeyLayout.ranked(KeyLayout.labelRoot, name: label, priority, id)) }
        if let assignee { try body(KeyLayout.ranked(KeyLayout.assigneeRoot, name: assignee, priority, id)) }
        if let leaseExpiresAt { try body(KeyLayout.lease(leaseExpiresAt, id)) }
        for dependency in dependsOn {
            let edge = Edge(from: id, kind: .dependsOn, to: dependency)
            try body(KeyLayout.edge(edge))
            try body(KeyLayout.reverseEdge(edge))
        }
        if let key = readinessKey(dependenciesDone: dependenciesDone) { try body(key) }
    }

    /// Whether it can be picked up, given whether every dependency is done: open, unassigned.
    func isReady(dependenciesDone: Bool) -> Bool { status == .open && assignee == nil && dependenciesDone }

    /// Whether it cannot go on: blocked, or open or in progress with an unfinished dependency.
    func isWaiting(dependenciesDone: Bool) -> Bool {
        status == .blocked || ((status == .open || status == .inProgress) && !dependenciesDone)
    }

    /// The ready and waiting index entries, which also depend on the dependencies' statuses.
    func readinessKeys(dependenciesDone: Bool) -> [[UInt8]] {
        readinessKey(dependenciesDone: dependenciesDone).map { [$0] } ?? []
    }

    /// The ready or waiting index entry, if any.
    func readinessKey(dependenciesDone: Bool) -> [UInt8]? {
        if isReady(dependenciesDone: dependenciesDone) {
            return KeyLayout.ranked(KeyLayout.readyRoot, priority, id)
        }
        if isWaiting(dependenciesDone: dependenciesDone) {
            return KeyLayout.ranked(KeyLayout.waitingRoot, priority, id)
        }
        return nil
    }

    /// The fields that differ from `old` (nil: every field set at creation), as text.
    @_spi(Testing) public func changes(from old: TaskRecord?) -> [FieldChange] {
        var out: [FieldChange] = []
        out.reserveCapacity(old == nil ? 4 + (description.isEmpty ? 0 : 1) + (labels.isEmpty ? 0 : 1) : 2)
        @inline(__always) func note(_ field: String, _ a: String?, _ b: String?) {
            if a != b { out.append(FieldChange(field: field, old: a, new: b)) }
        }
        func list(_ values: [String]) -> String? { values.isEmpty ? nil : values.joined(separator: ",") }
        note("title", old?.title, title)
        note(
            "description", old.map { $0.description.isEmpty ? nil : $0.description } ?? nil,
            description.isEmpty ? nil : description)
        note("status", old?.status.rawValue, status.rawValue)
        note("priority", old.map { Self.priorityText($0.priority) }, Self.priorityText(priority))
        if old?.labels != labels { note("labels", old.flatMap { list($0.labels) }, list(labels)) }
        note("assignee", old?.assignee, assignee)
        if old?.dependsOn != dependsOn { note("depends_on", old.flatMap { list($0.dependsOn) }, list(dependsOn)) }
        let oldNotes = old?.notes.count ?? 0
        if notes.count > oldNotes {
            for added in notes[oldNotes...] {
                out.append(FieldChange(field: "note", old: nil, new: added.text))
            }
        }
        if old?.claimedAt != claimedAt { note("claimed_at", old?.claimedAt?.iso8601, claimedAt?.iso8601) }
        if old?.leaseExpiresAt != leaseExpiresAt {
            note("lease_expires_at", old?.leaseExpiresAt?.iso8601, leaseExpiresAt?.iso8601)
        }
        note("blocked_reason", old?.blockedReason, blockedReason)
        note("blocker", old?.blocker, blocker)
        note("retrospective", old?.retrospective, retrospective)
        if old?.closedAt != closedAt { note("closed_at", old?.closedAt?.iso8601, closedAt?.iso8601) }
        return out
    }
}

extension BoardTransaction {
    /// Writes `new`, a created (`old` nil) or changed task: the record with its revision bumped,
    /// its index entries and edges (only the difference from `old`'s), a history entry, and,
    /// when it becomes or stops being done, the readiness of the tasks that depend on it.
    /// A change that changes nothing writes nothing and returns `old`.
    @discardableResult
    func saveTask(_ new: TaskRecord, old: TaskRecord?, by actor: String, action: String) throws -> TaskRecord {
        guard let old else { return try insertTask(new, by: actor, action: action) }
        var new = new
        let changes = new.changes(from: old)
        guard !changes.isEmpty else { return old }
        new.revision = old.revision + 1
        new.updatedAt = now
        // Tasks that depend on this one see its status through their dependencies: note their
        // readiness before the record changes, then fix it afterwards.
        var dependents: [(task: TaskRecord, before: [[UInt8]])] = []
        if (old.status == .done) != (new.status == .done) {
            for id in try reads.dependents(of: new.id) {
                let dependent = try reads.task(id)
                dependents.append(
                    (
                        dependent,
                        dependent.readinessKeys(dependenciesDone: try reads.dependenciesDone(dependent))
                    ))
            }
        }
        let oldKeys = old.indexKeys(dependenciesDone: try reads.dependenciesDone(old))
        let newKeys = new.indexKeys(dependenciesDone: try reads.dependenciesDone(new))
        try tx.put(KeyLayout.task(new.id), new.encoded())
        try replaceKeys(oldKeys, with: newKeys)
        try recordHistory(new.id, revision: new.revision, by: actor, action: action, changes: changes)
        for (dependent, before) in dependents {
            try replaceKeys(
                before, with: dependent.readinessKeys(dependenciesDone: try reads.dependenciesDone(dependent))
            )
        }
        return new
    }

    /// Writes `task`, new (revision 1), with its index entries and edges and its first history
    /// entry: what `saveTask` does with no old record, without comparing to one.
    private func insertTask(_ task: TaskRecord, by actor: String, action: String) throws -> TaskRecord {
        guard task.revision == 1 else {
            var first = task
            first.revision = 1
            return try insertTask(first, by: actor, action: action)
        }
        try insertNewTask(task, by: actor, action: action)
        return task
    }

    /// `insertTask` of a record at revision 1 (borrowed, not copied: creating tasks is hot).
    /// `historyKey`, when given, is `KeyLayout.history(task.id, revision: 1)`.
    func insertNewTask(
        _ task: borrowing TaskRecord, by actor: String, action: String, historyKey: [UInt8]? = nil
    ) throws {
        precondition(task.revision == 1, "a new task starts at revision 1")
        try tx.put(KeyLayout.task(task.id), task.encoded())
        let dependenciesDone = task.dependsOn.isEmpty ? true : try reads.dependenciesDone(task)
        try task.forEachIndexKey(dependenciesDone: dependenciesDone) { try tx.put($0, []) }
        try tx.put(
            historyKey ?? KeyLayout.history(task.id, revision: 1),
            task.creationHistory(at: now, by: actor, action: action))
    }

    /// Removes task `task`: its record and everything derived from it, its id from the tasks
    /// that depend on it (a change to each of them), and leaves a last history entry.
    func removeTask(_ task: TaskRecord, by actor: String) throws {
        for id in try reads.dependents(of: task.id) {
            let dependent = try reads.task(id)
            var changed = dependent
            changed.dependsOn.removeAll { $0 == task.id }
            if changed.blocker == task.id { changed.blocker = nil }
            try saveTask(changed, old: dependent, by: actor, action: "dependency-deleted")
        }
        let keys = task.indexKeys(dependenciesDone: try reads.dependenciesDone(task))
        for key in keys { try tx.delete(key) }
        try tx.delete(KeyLayout.task(task.id))
        try recordHistory(
            task.id, revision: task.revision + 1, by: actor, action: "deleted",
            changes: [FieldChange(field: "status", old: task.status.rawValue, new: nil)])
    }

    /// Fails with `conflict` when making `id` depend on `dependency` would close a cycle
    /// (`dependency` already depends on `id`, directly or through others).
    func checkNoCycle(_ id: String, dependsOn dependency: String) throws {
        var stack = [dependency]
        var seen: Set<String> = []
        while let current = stack.popLast() {
            if current == id {
                throw AgentError.conflict(
                    "task \(id) cannot depend on \(dependency): \(dependency) already depends on \(id)")
            }
            guard seen.insert(current).inserted, let task = try reads.taskIfPresent(current) else { continue }
            stack.append(contentsOf: task.dependsOn)
        }
    }
}
