import LogbookAgents

/// `logbook handoff SUBCOMMAND ...`: work passed from one agent to another. A hand-off moves
/// initiated → accepted → completed, or to rejected; accepting one gives its task to the receiver.
enum HandoffCommand: SubcommandGroup {
    static let name = "handoff"
    static let summary = "hand-offs between agents: initiate, accept, complete, reject, list, show"

    static let table: [Subcommand] = [
        Subcommand(
            name: "initiate", synopsis: "INSTRUCTIONS --to AGENT [--from AGENT] [--task ID]",
            summary: "hand work to AGENT (from the acting agent by default); prints its id",
            valueOptions: ["--to", "--from", "--task", "--agent"], positionals: 1...1, run: initiate),
        Subcommand(
            name: "accept", synopsis: "ID",
            summary: "the receiver accepts; its task is assigned to the receiver",
            valueOptions: ["--agent"], positionals: 1...1, run: accept),
        Subcommand(
            name: "complete", synopsis: "ID [--result TEXT]", summary: "the receiver reports it done",
            valueOptions: ["--result", "--agent"], positionals: 1...1, run: complete),
        Subcommand(
            name: "reject", synopsis: "ID [--reason TEXT]", summary: "the receiver declines it",
            valueOptions: ["--reason", "--agent"], positionals: 1...1, run: reject),
        Subcommand(
            name: "list", synopsis: "[--status S] [--to AGENT] [--from AGENT] [--task ID] [--limit N]",
            summary: "hand-offs by id: oldest first, to the second",
            valueOptions: ["--status", "--to", "--from", "--task", "--limit"], positionals: 0...0, run: list),
        Subcommand(
            name: "show", synopsis: "ID", summary: "one hand-off and its history", positionals: 1...1,
            run: show),
    ]

    private static func printHandoff(
        _ c: SubcommandInvocation, _ handoff: HandoffRecord, idOnly: Bool = false
    ) throws {
        if c.json {
            try c.write(AgentRendering.json(handoff))
        } else {
            try c.write(idOnly ? handoff.id + "\n" : AgentRendering.line(handoff))
        }
    }

    /// The receiving agent named by --agent or $LOGBOOK_AGENT (checked against the hand-off);
    /// nil otherwise (the receiver is assumed).
    private static func receiver(_ c: SubcommandInvocation) throws -> String? {
        let actor = try c.actor
        return actor.explicit ? actor.name : nil
    }

    private static func initiate(_ c: SubcommandInvocation) throws {
        let instructions = try c.argument(0, "INSTRUCTIONS")
        guard let to = try c.option("--to") else { throw CLIError.usage("handoff initiate needs --to AGENT") }
        let actor = try c.actor
        let from = try c.option("--from") ?? actor.name
        let task = try c.option("--task")
        _ = try AgentBoard.validateHandoff(
            from: from, to: to, task: task, instructions: instructions, by: actor.name)
        let (board, store) = try c.openBoard()
        defer { store.close() }
        let handoff = try board.initiateHandoff(
            from: from, to: to, task: task, instructions: instructions, by: actor.name)
        try printHandoff(c, handoff, idOnly: true)
    }

    private static func accept(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .handoff)
        let agent = try receiver(c)
        let (board, store) = try c.requireBoard("hand-off \(id) not found")
        defer { store.close() }
        try printHandoff(c, try board.acceptHandoff(id, agent: agent))
    }

    private static func complete(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .handoff)
        let result = try c.option("--result") ?? ""
        let agent = try receiver(c)
        let (board, store) = try c.requireBoard("hand-off \(id) not found")
        defer { store.close() }
        try printHandoff(c, try board.completeHandoff(id, result: result, agent: agent))
    }

    private static func reject(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .handoff)
        let reason = try c.option("--reason") ?? ""
        let agent = try receiver(c)
        let (board, store) = try c.requireBoard("hand-off \(id) not found")
        defer { store.close() }
        try printHandoff(c, try board.rejectHandoff(id, reason: reason, agent: agent))
    }

    private static func list(_ c: SubcommandInvocation) throws {
        let query = HandoffQuery(
            status: try c.option("--status").map { try HandoffStatus.parse($0) }, to: try c.option("--to"),
            from: try c.option("--from"), task: try c.option("--task"), limit: try c.limit())
        if let task = query.task { _ = try RecordID.validated(task, kind: .task) }
        guard let (board, store) = try c.openExistingBoard() else { return }
        defer { store.close() }
        let handoffs = try board.handoffs(query)
        if c.json {
            for handoff in handoffs { try c.write(AgentRendering.json(handoff)) }
        } else if !handoffs.isEmpty {
            try c.write(AgentRendering.table(handoffs))
        }
    }

    private static func show(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .handoff)
        let (board, store) = try c.requireBoard("hand-off \(id) not found")
        defer { store.close() }
        let handoff = try board.handoff(id)
        if c.json {
            try c.write(AgentRendering.json(handoff))
        } else {
            try c.write(AgentRendering.details(handoff, history: try board.history(of: id)))
        }
    }
}
