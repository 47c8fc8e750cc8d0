// Claims: an agent takes a task atomically, for a lease it renews by claiming again.

extension AgentBoard {
    /// The most claims whose lease lapsed that one claim transaction returns to the pool.
    static let expiriesPerClaim = 64

    /// Claims task `id` for `agent`: in progress, assigned to it, with a lease of `leaseSeconds`
    /// (default `defaultLeaseSeconds`). Claiming a task the agent already holds renews the
    /// lease. A task held by another agent whose lease lapsed is taken over.
    ///
    /// One serializable transaction: of two agents claiming the same task at once, exactly one
    /// succeeds; the other fails with `conflict`.
    /// - Throws: `notFound`; `conflict` (claim lost) when another agent holds it, or it is not
    ///   ready (not open, or waiting for a dependency).
    @discardableResult
    public func claimTask(_ id: String, agent: String, leaseSeconds: Double? = nil) throws -> TaskRecord {
        let id = try RecordID.validated(id, kind: .task)
        let agent = try Validation.name(agent, "agent name")
        let lease = try Validation.lease(leaseSeconds ?? defaultLeaseSeconds)
        return try write { t in
            var old = try t.reads.task(id)
            if old.assignee == agent && old.status == .inProgress {
                return try t.claim(old, agent: agent, lease: lease)  // a renewal
            }
            if old.status == .inProgress, let holder = old.assignee, holder != agent {
                guard old.leaseLapsed(at: t.now) else {
                    throw AgentError.conflict(
                        "claim lost: task \(id) is held by \(holder)"
                            + (old.leaseExpiresAt.map { " (lease until \($0.iso8601))" } ?? ""))
                }
                old = try t.expire(old, by: agent)
            }
            guard old.status == .open else {
                throw AgentError.conflict("cannot claim task \(id): it is \(old.status.rawValue)")
            }
            if let holder = old.assignee, holder != agent {
                throw AgentError.conflict("claim lost: task \(id) is assigned to \(holder)")
            }
            guard try t.reads.dependenciesDone(old) else {
                throw AgentError.conflict("cannot claim task \(id): it waits for an unfinished dependency")
            }
            return try t.claim(old, agent: agent, lease: lease)
        }
    }

    /// Claims the top ready task (most urgent, then oldest) for `agent`; nil when nothing is
    /// ready. First returns to the pool the claims whose lease lapsed (up to
    /// `expiriesPerClaim`), so a dead agent's tasks are picked up again.
    ///
    /// Atomic across threads and processes: concurrent callers never get the same task (the
    /// ready index range read is validated at commit; a loser runs again on the new state).
    public func claimNextTask(agent: String, leaseSeconds: Double? = nil) throws -> TaskRecord? {
        let agent = try Validation.name(agent, "agent name")
        let lease = try Validation.lease(leaseSeconds ?? defaultLeaseSeconds)
        return try write { t in
            try t.expireLapsedLeases(by: agent)
            guard let top = try t.tx.scan(KeyRange(prefix: KeyLayout.readyRoot, limit: 1)).first,
                let id = KeyLayout.trailingID(top.key)
            else { return nil }
            return try t.claim(try t.reads.task(id), agent: agent, lease: lease)
        }
    }

    /// Gives task `id` back: open, unassigned, no lease. With `enforceClaim`, only the agent
    /// holding it (or anyone once its lease lapsed) may.
    /// - Throws: `notFound`; `conflict` when it is not claimed or assigned, or another agent holds it.
    @discardableResult
    public func releaseTask(_ id: String, by agent: String, enforceClaim: Bool = true) throws -> TaskRecord {
        let id = try RecordID.validated(id, kind: .task)
        let agent = try Validation.name(agent, "agent name")
        return try write { t in
            let old = try t.reads.task(id)
            guard old.assignee != nil, old.status == .inProgress || old.status == .open else {
                throw AgentError.conflict(
                    "task \(id) is not claimed (it is \(old.status.rawValue), unassigned)")
            }
            if enforceClaim { try old.checkNotHeldByOther(than: agent, at: t.now) }
            var task = old
            if task.status == .inProgress { try task.move(to: .open, at: t.now) }
            task.assignee = nil
            task.endClaim()
            return try t.saveTask(task, old: old, by: agent, action: "released")
        }
    }

    /// Returns to the pool every claim whose lease lapsed by now (up to `expiriesPerClaim` per
    /// call); how many.
    @discardableResult
    public func expireLapsedLeases(by actor: String) throws -> Int {
        let actor = try Validation.name(actor, "agent name")
        return try write { t in try t.expireLapsedLeases(by: actor) }
    }
}

extension BoardTransaction {
    /// Assigns `task` to `agent`, in progress, with a lease from now.
    func claim(_ task: TaskRecord, agent: String, lease: Double) throws -> TaskRecord {
        var claimed = task
        if claimed.status != .inProgress { try claimed.move(to: .inProgress, at: now) }
        claimed.assignee = agent
        let renewal = task.assignee == agent && task.leaseExpiresAt != nil
        if !renewal { claimed.claimedAt = now }
        claimed.leaseExpiresAt = now.adding(seconds: lease)
        return try saveTask(claimed, old: task, by: agent, action: renewal ? "renewed" : "claimed")
    }

    /// Returns a task whose lease lapsed to the pool: open, unassigned.
    func expire(_ task: TaskRecord, by actor: String) throws -> TaskRecord {
        var open = task
        try open.move(to: .open, at: now)
        open.assignee = nil
        return try saveTask(open, old: task, by: actor, action: "lease-expired")
    }

    /// Expires the lapsed leases (oldest first, at most `AgentBoard.expiriesPerClaim`).
    @discardableResult
    func expireLapsedLeases(by actor: String) throws -> Int {
        let lapsed = try tx.scan(
            KeyRange(
                start: KeyLayout.leaseRoot, end: KeyLayout.leasesBefore(now.adding(seconds: 0.001)),
                limit: AgentBoard.expiriesPerClaim))
        for pair in lapsed {
            guard let id = KeyLayout.trailingID(pair.key) else { continue }
            _ = try expire(try reads.task(id), by: actor)
        }
        return lapsed.count
    }
}
