// The consistency check: rebuild every index entry and edge from the records and compare.

/// What `AgentBoard.verifyIndexes()` found.
public struct BoardReport: Sendable, Equatable {
    public var tasks = 0
    public var decisions = 0
    public var handoffs = 0
    /// Index entries and edges present in the store.
    public var derivedEntries = 0
    /// Each difference between the store and what its records imply, one line each.
    public var problems: [String] = []

    /// Whether the indexes, edges and history agree with the records.
    public var isConsistent: Bool { problems.isEmpty }
}

extension AgentBoard {
    /// Reads every record in one snapshot, derives the index entries and edges they imply
    /// (readiness from the dependencies' statuses), and compares them with those stored: an
    /// entry missing, or one left over, is a problem. Also checks that every record decodes,
    /// that each record's latest revision has its history entry, and that dependencies exist.
    /// Reads everything: for tests, `logbook task verify` and repair decisions, not hot paths.
    public func verifyIndexes() throws -> BoardReport {
        try read { s in
            var report = BoardReport()
            var expected: Set<[UInt8]> = []
            var tasks: [String: TaskRecord] = [:]
            func checkHistory(_ id: String, _ revision: Int) throws {
                if try s.reader.get(KeyLayout.history(id, revision: revision)) == nil {
                    report.problems.append("\(id): no history entry for revision \(revision)")
                }
            }
            for pair in try s.reader.scan(KeyRange(prefix: KeyLayout.taskPrefix)) {
                let id = String(decoding: pair.key[KeyLayout.taskPrefix.count...], as: UTF8.self)
                do {
                    tasks[id] = try TaskRecord(id: id, decoding: pair.value)
                } catch let error as AgentError {
                    report.problems.append(error.message)
                }
            }
            for task in tasks.values {
                report.tasks += 1
                try checkHistory(task.id, task.revision)
                var done = true
                for dependency in task.dependsOn {
                    guard let other = tasks[dependency] else {
                        report.problems.append("\(task.id): depends on \(dependency), which does not exist")
                        done = false
                        continue
                    }
                    if other.status != .done { done = false }
                }
                expected.formUnion(task.indexKeys(dependenciesDone: done))
                if task.leaseExpiresAt != nil && (task.status != .inProgress || task.assignee == nil) {
                    report.problems.append(
                        "\(task.id): has a lease but is \(task.status.rawValue), assignee \(task.assignee ?? "none")"
                    )
                }
            }
            for pair in try s.reader.scan(KeyRange(prefix: KeyLayout.decisionPrefix)) {
                let id = String(decoding: pair.key[KeyLayout.decisionPrefix.count...], as: UTF8.self)
                do {
                    let decision = try DecisionRecord(id: id, decoding: pair.value)
                    report.decisions += 1
                    try checkHistory(id, decision.revision)
                    expected.formUnion(decision.derivedKeys)
                } catch let error as AgentError {
                    report.problems.append(error.message)
                }
            }
            for pair in try s.reader.scan(KeyRange(prefix: KeyLayout.handoffPrefix)) {
                let id = String(decoding: pair.key[KeyLayout.handoffPrefix.count...], as: UTF8.self)
                do {
                    let handoff = try HandoffRecord(id: id, decoding: pair.value)
                    report.handoffs += 1
                    try checkHistory(id, handoff.revision)
                    expected.formUnion(handoff.derivedKeys)
                } catch let error as AgentError {
                    report.problems.append(error.message)
                }
            }
            var present: Set<[UInt8]> = []
            for root in [KeyLayout.indexRoot, KeyLayout.edgeRoot, KeyLayout.reverseEdgeRoot] {
                for pair in try s.reader.scan(KeyRange(prefix: root)) {
                    present.insert(pair.key)
                    if !pair.value.isEmpty { report.problems.append("\(Self.show(pair.key)): has a value") }
                }
            }
            report.derivedEntries = present.count
            for key in expected.subtracting(present).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                report.problems.append("missing: \(Self.show(key))")
            }
            for key in present.subtracting(expected).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                report.problems.append("left over: \(Self.show(key))")
            }
            return report
        }
    }

    /// A key as text, NUL shown as `\0`.
    static func show(_ key: [UInt8]) -> String {
        String(decoding: key, as: UTF8.self).replacingNUL()
    }
}

extension String {
    fileprivate func replacingNUL() -> String {
        var out = ""
        for scalar in unicodeScalars {
            if scalar.value == 0 { out += "\\0" } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
