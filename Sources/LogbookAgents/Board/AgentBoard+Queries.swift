// Listings: an index range scanned in batches with a limit, then point reads of the records.

extension AgentBoard {
    /// The tasks `query` selects, from one consistent snapshot.
    /// - Throws: `invalidArgument` for a bad filter value.
    public func tasks(_ query: TaskQuery = TaskQuery()) throws -> [TaskRecord] {
        let query = try Self.validate(query)
        return try read { try $0.tasks(query) }
    }

    /// `query` if its values are valid (limit, priority, names); else `invalidArgument`.
    public static func validate(_ query: TaskQuery) throws(AgentError) -> TaskQuery {
        var query = query
        query.limit = try Validation.limit(query.limit)
        query.priority = try query.priority.map { (p) throws(AgentError) in try Priority.validated(p) }
        query.label = try query.label.map { (l) throws(AgentError) in try Validation.name(l, "label") }
        query.assignee = try query.assignee.map { (a) throws(AgentError) in try Validation.name(a, "assignee")
        }
        return query
    }

    /// Task `id` with what one snapshot says about it: the tasks it blocks (that depend on it)
    /// and whether it is ready.
    public func taskDetails(_ id: String) throws -> (task: TaskRecord, blocks: [String], ready: Bool) {
        let id = try RecordID.validated(id, kind: .task)
        return try read { s in
            let task = try s.task(id)
            return (
                task, try s.dependents(of: id), task.isReady(dependenciesDone: try s.dependenciesDone(task))
            )
        }
    }

    /// The ready tasks, most urgent first, then oldest: what `claimNextTask` would take, in order.
    public func readyTasks(limit: Int? = nil) throws -> [TaskRecord] {
        try tasks(TaskQuery(ready: true, limit: limit))
    }
}

extension BoardSnapshot {
    func tasks(_ q: TaskQuery) throws -> [TaskRecord] {
        let want = q.limit ?? Int.max
        guard want > 0 else { return [] }
        let noFilter =
            q.status == nil && q.priority == nil && q.label == nil && q.assignee == nil && !q.blocked
            && !q.ready
        if noFilter && q.sort == .created {
            // The records themselves are in creation order.
            return try reader.scan(KeyRange(prefix: KeyLayout.taskPrefix, limit: q.limit)).map { pair in
                try TaskRecord(id: KeyLayout.trailingID(pair.key) ?? "", decoding: pair.value)
            }
        }
        // The driving index, and the filters it does not cover. Without any, the five status
        // indexes merged are the priority order of all tasks.
        var prefix: [UInt8]
        var merged: [[UInt8]] = []
        var residual = q
        residual.priority = nil
        if q.ready {
            prefix = KeyLayout.readyRoot
            residual.ready = false
        } else if q.blocked {
            prefix = KeyLayout.waitingRoot
            residual.blocked = false
        } else if let assignee = q.assignee {
            prefix = KeyLayout.assigneePrefix(assignee)
            residual.assignee = nil
        } else if let label = q.label {
            prefix = KeyLayout.labelPrefix(label)
            residual.label = nil
        } else if let status = q.status {
            prefix = KeyLayout.statusPrefix(status)
            residual.status = nil
        } else {
            prefix = KeyLayout.statusRoot
            merged = TaskStatus.allCases.map { KeyLayout.statusPrefix($0) }
        }
        if let priority = q.priority {
            prefix = KeyLayout.ranked(prefix, priority: priority)
            merged = merged.map { KeyLayout.ranked($0, priority: priority) }
        }
        let exact =
            residual.status == nil && residual.label == nil && residual.assignee == nil
            && !residual.blocked && !residual.ready
        func matches(_ task: TaskRecord) throws -> Bool {
            if let status = residual.status, task.status != status { return false }
            if let label = residual.label, !task.labels.contains(label) { return false }
            if let assignee = residual.assignee, task.assignee != assignee { return false }
            if residual.blocked, !task.isWaiting(dependenciesDone: try dependenciesDone(task)) {
                return false
            }
            return true
        }

        let inOrder = q.sort == .priority
        var found =
            merged.isEmpty
            ? try stream(prefix, limit: inOrder ? want : Int.max, exact: exact, matches)
            : try merge(merged, limit: inOrder ? want : Int.max)
        if q.ready {
            // Claims whose lease lapsed are ready again: merge them in, in index order.
            let lapsed = try reader.scan(
                KeyRange(start: KeyLayout.leaseRoot, end: KeyLayout.leasesBefore(now.adding(seconds: 0.001))))
            for pair in lapsed {
                guard let id = KeyLayout.trailingID(pair.key), let task = try taskIfPresent(id) else {
                    continue
                }
                if let priority = q.priority, task.priority != priority { continue }
                guard try dependenciesDone(task), try matches(task) else { continue }
                found.append(task)
            }
            if !lapsed.isEmpty {
                found.sort { ($0.priority, $0.id) < ($1.priority, $1.id) }
            }
        }
        switch q.sort {
        case .priority: break
        case .created: found.sort { $0.id < $1.id }
        case .updated: found.sort { ($0.updatedAt, $0.id) > ($1.updatedAt, $1.id) }
        }
        return Array(found.prefix(want))
    }

    /// The records of the first `limit` entries of the ranked indexes under `prefixes`, merged
    /// in rank order (priority, then id). Reads up to `limit` keys of each index, and only the
    /// records it returns.
    private func merge(_ prefixes: [[UInt8]], limit: Int) throws -> [TaskRecord] {
        var entries: [(rank: ArraySlice<UInt8>, id: String)] = []
        for prefix in prefixes {
            let keys = try reader.scan(KeyRange(prefix: prefix, limit: limit == Int.max ? nil : limit))
            for pair in keys {
                guard let id = KeyLayout.trailingID(pair.key) else { continue }
                entries.append((pair.key[prefix.count...], id))
            }
        }
        entries.sort { $0.rank.lexicographicallyPrecedes($1.rank) }
        return try entries.prefix(limit).map { entry in
            guard let task = try taskIfPresent(entry.id) else {
                throw AgentError.corrupted(
                    "index entry for task \(entry.id) has no record; run `logbook task verify`")
            }
            return task
        }
    }

    /// The records of the index entries under `prefix` that pass `matches`, in index order,
    /// at most `limit`. Scans in batches: exactly `limit` entries when `exact` (every entry
    /// matches), so nothing is read that is not returned.
    private func stream(
        _ prefix: [UInt8], limit: Int, exact: Bool, _ matches: (TaskRecord) throws -> Bool
    ) throws -> [TaskRecord] {
        var out: [TaskRecord] = []
        var start = prefix
        let end = KeyRange.successor(ofPrefix: prefix)
        // The index entries are visited in place (their ids kept, and the key of a full batch's
        // last entry, where the next batch starts), then their records read.
        var ids: [String] = []
        var last: [UInt8] = []
        while out.count < limit {
            let batch = exact ? (limit == Int.max ? nil : limit - out.count) : 256
            ids.removeAll(keepingCapacity: true)
            var visited = 0
            try reader.visit(KeyRange(start: start, end: end, limit: batch)) { key, _ in
                visited += 1
                if let id = KeyLayout.trailingID(key) { ids.append(id) }
                if visited == batch { last = [UInt8](key) }
                return true
            }
            for id in ids {
                guard let task = try taskIfPresent(id) else {
                    throw AgentError.corrupted(
                        "index entry for task \(id) has no record; run `logbook task verify`")
                }
                if try matches(task) {
                    out.append(task)
                    if out.count == limit { break }
                }
            }
            guard let batch, visited == batch else { break }
            start = last + [0]
        }
        return out
    }
}
