import LogbookAgents

// How task, decision, hand-off and history records look on stdout: one JSON object per line
// with --json (field names in snake_case, times in ISO 8601 UTC, absent values as null), else
// tables and `field: value` blocks for people.

extension JSONLine {
    /// `"name":"value"`, or `"name":null`.
    mutating func field(_ name: String, optional value: String?) {
        if let value {
            field(name, string: value)
        } else {
            key(name)
            raw("null")
        }
    }

    /// `"name":["a","b"]`.
    mutating func field(_ name: String, strings values: [String]) {
        key(name)
        raw("[")
        for value in values { element(string: value) }
        raw("]")
    }

    /// `"name":[{...},{...}]`, one object per element of `values`, whose fields `body` adds.
    mutating func field<Element>(
        _ name: String, objects values: [Element], _ body: (inout JSONLine, Element) -> Void
    ) {
        key(name)
        raw("[")
        for (i, value) in values.enumerated() {
            if i > 0 { raw(",") }
            raw("{")
            body(&self, value)
            raw("}")
        }
        raw("]")
    }

    /// `"name":"2025-12-26T11:27:25.123Z"`, or null.
    mutating func field(_ name: String, time value: Timestamp?) {
        field(name, optional: value?.iso8601)
    }
}

enum AgentRendering {
    // MARK: JSON

    /// A task as one JSON object (and a newline). `extra` adds fields only `show` computes.
    static func json(_ task: TaskRecord, blocks: [String]? = nil, ready: Bool? = nil) -> JSONLine {
        JSONLine.object { line in
            line.field("id", string: task.id)
            line.field("title", string: task.title)
            line.field("status", string: task.status.rawValue)
            line.field("priority", number: task.priority)
            line.field("assignee", optional: task.assignee)
            line.field("labels", strings: task.labels)
            line.field("depends_on", strings: task.dependsOn)
            if let blocks { line.field("blocks", strings: blocks) }
            if let ready { line.field("ready", bool: ready) }
            line.field("description", string: task.description)
            line.field("created_at", time: task.createdAt)
            line.field("created_by", string: task.createdBy)
            line.field("updated_at", time: task.updatedAt)
            line.field("revision", number: task.revision)
            line.field("claimed_at", time: task.claimedAt)
            line.field("lease_expires_at", time: task.leaseExpiresAt)
            line.field("blocked_reason", optional: task.blockedReason)
            line.field("blocker", optional: task.blocker)
            line.field("retrospective", optional: task.retrospective)
            line.field("closed_at", time: task.closedAt)
            line.field("notes", objects: task.notes) { line, note in
                line.field("at", time: note.at)
                line.field("by", string: note.by)
                line.field("text", string: note.text)
            }
        }
    }

    static func json(_ decision: DecisionRecord) -> JSONLine {
        JSONLine.object { line in
            line.field("id", string: decision.id)
            line.field("text", string: decision.text)
            line.field("rationale", string: decision.rationale)
            line.field("alternatives", strings: decision.alternatives)
            line.field("affects", strings: decision.affects)
            line.field("created_at", time: decision.createdAt)
            line.field("created_by", string: decision.createdBy)
            line.field("revision", number: decision.revision)
        }
    }

    static func json(_ handoff: HandoffRecord) -> JSONLine {
        JSONLine.object { line in
            line.field("id", string: handoff.id)
            line.field("from", string: handoff.from)
            line.field("to", string: handoff.to)
            line.field("task", optional: handoff.task)
            line.field("instructions", string: handoff.instructions)
            line.field("status", string: handoff.status.rawValue)
            line.field("result", optional: handoff.result)
            line.field("reason", optional: handoff.reason)
            line.field("created_at", time: handoff.createdAt)
            line.field("updated_at", time: handoff.updatedAt)
            line.field("revision", number: handoff.revision)
        }
    }

    static func json(_ entry: HistoryEntry) -> JSONLine {
        JSONLine.object { line in
            line.field("id", string: entry.recordID)
            line.field("revision", number: entry.revision)
            line.field("at", time: entry.at)
            line.field("by", string: entry.by)
            line.field("action", string: entry.action)
            line.field("changes", objects: entry.changes) { line, change in
                line.field("field", string: change.field)
                line.field("old", optional: change.old)
                line.field("new", optional: change.new)
            }
        }
    }

    /// What `task verify --json` prints.
    static func json(_ report: BoardReport) -> JSONLine {
        JSONLine.object { line in
            line.field("ok", bool: report.isConsistent)
            line.field("tasks", number: report.tasks)
            line.field("decisions", number: report.decisions)
            line.field("handoffs", number: report.handoffs)
            line.field("derived_entries", number: report.derivedEntries)
            line.field("problems", strings: report.problems)
        }
    }

    // MARK: text

    /// The header and rows of a task table.
    static func table(_ tasks: [TaskRecord]) -> String {
        table(
            ["ID", "P", "STATUS", "ASSIGNEE", "TITLE"], widths: [26, 1, 11, 14],
            tasks.map { task in
                [task.id, "\(task.priority)", task.status.rawValue, cut(task.assignee ?? "-", 14), cut(task.title, 60)]
            })
    }

    /// `ID STATUS TITLE` on one line: what a write subcommand prints.
    static func line(_ task: TaskRecord) -> String {
        var text = "\(task.id) \(task.status.rawValue)"
        if let assignee = task.assignee { text += " (\(assignee))" }
        return text + " " + task.title + "\n"
    }

    /// Every field of a task, one per line.
    static func details(_ task: TaskRecord, blocks: [String], ready: Bool) -> String {
        var out = "id:          \(task.id)\n"
        out += "title:       \(task.title)\n"
        out += "status:      \(task.status.rawValue)\(ready ? " (ready)" : "")\n"
        out += "priority:    \(task.priority) (\(Priority.names[task.priority]))\n"
        out += "assignee:    \(task.assignee ?? "-")\n"
        if !task.labels.isEmpty { out += "labels:      \(task.labels.joined(separator: ", "))\n" }
        if !task.dependsOn.isEmpty { out += "depends on:  \(task.dependsOn.joined(separator: ", "))\n" }
        if !blocks.isEmpty { out += "blocks:      \(blocks.joined(separator: ", "))\n" }
        if let claimed = task.claimedAt { out += "claimed:     \(claimed.short)\n" }
        if let lease = task.leaseExpiresAt { out += "lease until: \(lease.short)\n" }
        if let reason = task.blockedReason { out += "blocked:     \(reason)\n" }
        if let blocker = task.blocker { out += "blocker:     \(blocker)\n" }
        out += "created:     \(task.createdAt.short) by \(task.createdBy)\n"
        out += "updated:     \(task.updatedAt.short) (revision \(task.revision))\n"
        if let closed = task.closedAt { out += "closed:      \(closed.short)\n" }
        if !task.description.isEmpty { out += "\n" + task.description + "\n" }
        if let retrospective = task.retrospective { out += "\nretrospective: \(retrospective)\n" }
        for note in task.notes { out += "\nnote (\(note.at.short), \(note.by)): \(note.text)\n" }
        return out
    }

    static func table(_ decisions: [DecisionRecord]) -> String {
        table(
            ["ID", "BY", "DECISION"], widths: [26, 14],
            decisions.map { decision in
                [
                    decision.id, cut(decision.createdBy, 14),
                    cut(decision.text.split(separator: "\n").first.map(String.init) ?? "", 70),
                ]
            })
    }

    static func details(_ decision: DecisionRecord) -> String {
        var out = "id:        \(decision.id)\n"
        out += "decided:   \(decision.createdAt.short) by \(decision.createdBy)\n"
        if !decision.affects.isEmpty { out += "affects:   \(decision.affects.joined(separator: ", "))\n" }
        out += "\n\(decision.text)\n"
        if !decision.rationale.isEmpty { out += "\nrationale: \(decision.rationale)\n" }
        for alternative in decision.alternatives { out += "alternative: \(alternative)\n" }
        return out
    }

    static func table(_ handoffs: [HandoffRecord]) -> String {
        table(
            ["ID", "STATUS", "FROM", "TO", "TASK"], widths: [26, 9, 12, 12],
            handoffs.map { handoff in
                [handoff.id, handoff.status.rawValue, cut(handoff.from, 12), cut(handoff.to, 12), handoff.task ?? "-"]
            })
    }

    static func line(_ handoff: HandoffRecord) -> String {
        "\(handoff.id) \(handoff.status.rawValue) \(handoff.from) -> \(handoff.to)\n"
    }

    static func details(_ handoff: HandoffRecord, history: [HistoryEntry]) -> String {
        var out = "id:        \(handoff.id)\n"
        out += "status:    \(handoff.status.rawValue)\n"
        out += "from:      \(handoff.from)\n"
        out += "to:        \(handoff.to)\n"
        out += "task:      \(handoff.task ?? "-")\n"
        out += "created:   \(handoff.createdAt.short)\n"
        out += "updated:   \(handoff.updatedAt.short) (revision \(handoff.revision))\n"
        out += "\n\(handoff.instructions)\n"
        if let result = handoff.result { out += "\nresult: \(result)\n" }
        if let reason = handoff.reason { out += "\nreason: \(reason)\n" }
        if !history.isEmpty { out += "\n" + Self.history(history) }
        return out
    }

    /// One line per history entry: revision, time, who, action, changes.
    static func history(_ entries: [HistoryEntry]) -> String {
        entries.map { entry in
            let changes = entry.changes.map { change -> String in
                let old = change.old.map { cut($0, 40) } ?? "-"
                let new = change.new.map { cut($0, 40) } ?? "-"
                return "\(change.field): \(old) -> \(new)"
            }
            return "\(entry.revision)  \(entry.at.short)  \(entry.by)  \(entry.action)"
                + (changes.isEmpty ? "" : "  " + changes.joined(separator: "; ")) + "\n"
        }.joined()
    }

    /// The header and one line per row: each cell but the last padded to the width of its
    /// column (never cut: callers cut what must fit), two spaces between columns.
    private static func table(_ header: [String], widths: [Int], _ rows: [[String]]) -> String {
        ([header] + rows).map { cells in
            zip(cells, widths).map { pad($0, $1) + "  " }.joined() + cells[widths.count] + "\n"
        }.joined()
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        let count = text.count
        return count >= width ? text : text + String(repeating: " ", count: width - count)
    }

    /// At most `width` characters on one line, `...` when cut.
    private static func cut(_ text: String, _ width: Int) -> String {
        let oneLine = String(text.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 })
        return oneLine.count <= width ? oneLine : String(oneLine.prefix(width - 3)) + "..."
    }
}
