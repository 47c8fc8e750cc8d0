import LogbookAgents

/// `logbook decision SUBCOMMAND ...`: decisions agents log (text, rationale, alternatives, the
/// tasks they affect), and `why TASK`. Decisions are never changed once logged.
enum DecisionCommand: SubcommandGroup {
    static let name = "decision"
    static let summary = "decisions: log, list, show, why TASK"

    static let table: [Subcommand] = [
        Subcommand(
            name: "log", synopsis: "TEXT [--rationale R] [--alternative A]... [--affects TASK]...",
            summary: "log a decision; prints its id (--json: the decision)",
            valueOptions: ["--rationale", "--alternative", "--affects", "--agent"], positionals: 1...1,
            run: log),
        Subcommand(
            name: "list", synopsis: "[--affects TASK] [--limit N]",
            summary: "decisions by id: creation time to the second",
            valueOptions: ["--affects", "--limit"], positionals: 0...0, run: list),
        Subcommand(name: "show", synopsis: "ID", summary: "one decision", positionals: 1...1, run: show),
        Subcommand(
            name: "why", synopsis: "TASK",
            summary: "the decisions that affect TASK (exit 1: no such task, ever)",
            positionals: 1...1, run: why),
    ]

    private static func printDecisions(_ c: SubcommandInvocation, _ decisions: [DecisionRecord]) throws {
        if c.json {
            for decision in decisions { try c.write(AgentRendering.json(decision)) }
        } else if !decisions.isEmpty {
            try c.write(AgentRendering.table(decisions))
        }
    }

    private static func log(_ c: SubcommandInvocation) throws {
        let text = try c.argument(0, "TEXT")
        let rationale = try c.option("--rationale") ?? ""
        let alternatives = try c.values("--alternative")
        let affects = try c.values("--affects")
        let actor = try c.actor
        _ = try AgentBoard.validateDecision(
            text, rationale: rationale, alternatives: alternatives, affects: affects, by: actor.name)
        let (board, store) = try c.openBoard()
        defer { store.close() }
        let decision = try board.logDecision(
            text, rationale: rationale, alternatives: alternatives, affects: affects, by: actor.name)
        if c.json { try c.write(AgentRendering.json(decision)) } else { try c.write(decision.id + "\n") }
    }

    private static func list(_ c: SubcommandInvocation) throws {
        let limit = try c.limit()
        let affects = try c.option("--affects")
        if let affects { _ = try RecordID.validated(affects, kind: .task) }
        guard let (board, store) = try c.openExistingBoard() else {
            if let affects {
                throw CLIError.notFound("task \(affects) not found: no store at \(c.invocation.storePath)")
            }
            return
        }
        defer { store.close() }
        try printDecisions(c, try board.decisions(affecting: affects, limit: limit))
    }

    private static func show(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .decision)
        let (board, store) = try c.requireBoard("decision \(id) not found")
        defer { store.close() }
        let decision = try board.decision(id)
        if c.json {
            try c.write(AgentRendering.json(decision))
        } else {
            try c.write(AgentRendering.details(decision))
        }
    }

    private static func why(_ c: SubcommandInvocation) throws {
        let task = try RecordID.validated(try c.argument(0, "TASK"), kind: .task)
        let (board, store) = try c.requireBoard("task \(task) not found")
        defer { store.close() }
        try printDecisions(c, try board.why(task))
    }
}
