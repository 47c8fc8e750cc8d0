import LogbookAgents

/// `logbook task SUBCOMMAND ...`: tasks on the agent board (see Docs/Agents.md). Writes are one
/// transaction each; `claim` is atomic across processes. Exit codes as for the key-value
/// commands: 1 unknown id or nothing ready, 2 bad input, 3 claim lost or a forbidden move.
enum TaskCommand: SubcommandGroup {
    static let name = "task"
    static let summary =
        "tasks: create, show, list, ready, update, start, complete, block, depends, delete, history, claim, release, verify"

    static let table: [Subcommand] = [
        Subcommand(
            name: "create",
            synopsis:
                "TITLE [--description TEXT] [--priority P] [--label L]... [--depends-on ID]... [--blocks ID]... [--assignee A]",
            summary: "create an open task; prints its id (--json: the task)",
            valueOptions: [
                "--description", "--priority", "--label", "--depends-on", "--blocks", "--assignee", "--agent",
            ],
            positionals: 1...1, run: create),
        Subcommand(
            name: "show", synopsis: "ID", summary: "the task, what it blocks, whether it is ready",
            positionals: 1...1, run: show),
        Subcommand(
            name: "list",
            synopsis:
                "[--status S] [--priority P] [--label L] [--assignee A] [--blocked] [--ready] [--limit N] [--sort priority|created|updated]",
            summary: "tasks by priority then age (a table; --json: one task per line)",
            flags: ["--blocked", "--ready"],
            valueOptions: ["--status", "--priority", "--label", "--assignee", "--limit", "--sort"],
            positionals: 0...0, run: list),
        Subcommand(
            name: "ready", synopsis: "[--limit N]",
            summary:
                "open, unassigned tasks whose dependencies are done, by priority (what claim --next takes)",
            valueOptions: ["--limit"], positionals: 0...0, run: ready),
        Subcommand(
            name: "update",
            synopsis:
                "ID [--title T] [--description D] [--priority P] [--status S] [--assignee A | --unassign] [--add-label L]... [--remove-label L]... [--note TEXT]",
            summary: "change fields; a status change must be allowed (else exit 3)",
            flags: ["--unassign"],
            valueOptions: [
                "--title", "--description", "--priority", "--status", "--assignee", "--add-label",
                "--remove-label",
                "--note", "--agent",
            ],
            positionals: 1...1, run: update),
        Subcommand(
            name: "start", synopsis: "ID", summary: "mark in progress, assigned to the agent if unassigned",
            valueOptions: ["--agent"], positionals: 1...1, run: start),
        Subcommand(
            name: "complete", synopsis: "ID [--retrospective TEXT]",
            summary: "mark done (exit 3 if another agent holds it); tasks waiting only for it become ready",
            valueOptions: ["--retrospective", "--agent"], positionals: 1...1, run: complete),
        Subcommand(
            name: "block", synopsis: "ID --reason TEXT [--blocker ID]",
            summary: "mark blocked, saying why; --blocker also makes it depend on that task",
            valueOptions: ["--reason", "--blocker", "--agent"], positionals: 1...1, run: block),
        Subcommand(
            name: "depends", synopsis: "ID DEP... [--remove]",
            summary: "make ID depend on each DEP (a cycle: exit 3); --remove drops them",
            flags: ["--remove"], valueOptions: ["--agent"], positionals: 2...Int.max, run: depends),
        Subcommand(
            name: "delete", synopsis: "ID",
            summary: "delete the task (its history stays; dependents stop waiting for it)",
            valueOptions: ["--agent"], positionals: 1...1, run: delete),
        Subcommand(
            name: "history", synopsis: "ID", summary: "every change: revision, when, who, what",
            positionals: 1...1, run: history),
        Subcommand(
            name: "claim", synopsis: "(ID | --next) --agent NAME [--lease SECONDS]",
            summary:
                "atomically take a task (or the top ready one) for NAME, with a lease (default 1800 s); again renews; exit 1 nothing ready, 3 lost",
            flags: ["--next"], valueOptions: ["--agent", "--lease"], positionals: 0...1, run: claim),
        Subcommand(
            name: "release", synopsis: "ID", summary: "give a claimed task back: open, unassigned",
            valueOptions: ["--agent"], positionals: 1...1, run: release),
        Subcommand(
            name: "verify", synopsis: "",
            summary:
                "rebuild every index entry and edge from the records and compare (exit 5 on a difference)",
            positionals: 0...0, run: verify),
    ]

    // MARK: subcommands

    private static func printTask(_ c: SubcommandInvocation, _ task: TaskRecord, idOnly: Bool = false) throws {
        if c.json {
            try c.write(AgentRendering.json(task))
        } else {
            try c.write(idOnly ? task.id + "\n" : AgentRendering.line(task))
        }
    }

    private static func create(_ c: SubcommandInvocation) throws {
        let new = NewTask(
            title: try c.argument(0, "TITLE"), description: try c.option("--description") ?? "",
            priority: try c.priority() ?? Priority.default, labels: try c.values("--label"),
            dependsOn: try c.values("--depends-on"), blocks: try c.values("--blocks"),
            assignee: try c.option("--assignee"))
        let actor = try c.actor
        _ = try AgentBoard.validate(new, by: actor.name)  // bad input must not create the store
        let (board, store) = try c.openBoard()
        defer { store.close() }
        try printTask(c, try board.createTask(new, by: actor.name), idOnly: true)
    }

    private static func show(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        let (task, blocks, ready) = try board.taskDetails(id)
        if c.json {
            try c.write(AgentRendering.json(task, blocks: blocks, ready: ready))
        } else {
            try c.write(AgentRendering.details(task, blocks: blocks, ready: ready))
        }
    }

    private static func list(_ c: SubcommandInvocation) throws {
        let query = TaskQuery(
            status: try c.option("--status").map { try TaskStatus.parse($0) }, priority: try c.priority(),
            label: try c.option("--label"), assignee: try c.option("--assignee"), blocked: c.has("--blocked"),
            ready: c.has("--ready"), limit: try c.limit(),
            sort: try c.option("--sort").map { try TaskSort.parse($0) } ?? .priority)
        try printTasks(c, query)
    }

    private static func ready(_ c: SubcommandInvocation) throws {
        try printTasks(c, TaskQuery(ready: true, limit: try c.limit()))
    }

    private static func printTasks(_ c: SubcommandInvocation, _ query: TaskQuery) throws {
        var tasks: [TaskRecord] = []
        if let (board, store) = try c.openExistingBoard() {
            defer { store.close() }
            tasks = try board.tasks(query)
        } else {
            _ = try AgentBoard.validate(query)
        }
        if c.json {
            for task in tasks { try c.write(AgentRendering.json(task)) }
        } else if !tasks.isEmpty {
            try c.write(AgentRendering.table(tasks))
        }
    }

    private static func update(_ c: SubcommandInvocation) throws {
        let id = try c.argument(0, "ID")
        var update = TaskUpdate(
            title: try c.option("--title"), description: try c.option("--description"),
            priority: try c.priority(),
            status: try c.option("--status").map { try TaskStatus.parse($0) },
            addLabels: try c.values("--add-label"), removeLabels: try c.values("--remove-label"),
            note: try c.option("--note"))
        let assignee = try c.option("--assignee")
        if assignee != nil && c.has("--unassign") {
            throw CLIError.usage("give at most one of --assignee and --unassign")
        }
        if let assignee { update.assignee = .set(assignee) }
        if c.has("--unassign") { update.assignee = .clear }
        guard update != TaskUpdate() else {
            throw CLIError.usage("nothing to update; give at least one of the options (logbook help task)")
        }
        let actor = try c.actor
        _ = try RecordID.validated(id, kind: .task)
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        try printTask(c, try board.updateTask(id, update, by: actor.name))
    }

    private static func start(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        let actor = try c.actor
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        try printTask(c, try board.startTask(id, by: actor.name, enforceClaim: actor.explicit))
    }

    private static func complete(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        let retrospective = try c.option("--retrospective")
        let actor = try c.actor
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        try printTask(
            c,
            try board.completeTask(
                id, retrospective: retrospective, by: actor.name, enforceClaim: actor.explicit))
    }

    private static func block(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        guard let reason = try c.option("--reason") else {
            throw CLIError.usage("task block needs --reason TEXT")
        }
        let blocker = try c.option("--blocker")
        let actor = try c.actor
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        try printTask(c, try board.blockTask(id, reason: reason, blocker: blocker, by: actor.name))
    }

    private static func depends(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        let dependencies = try (1..<c.arguments.count).map { try c.argument($0, "DEP") }
        let actor = try c.actor
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        try printTask(
            c, try board.setDependencies(id, on: dependencies, remove: c.has("--remove"), by: actor.name))
    }

    private static func delete(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        let actor = try c.actor
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        try board.deleteTask(id, by: actor.name)
        if c.json {
            var line = JSONLine()
            line.raw("{")
            line.field("id", string: id)
            line.field("deleted", bool: true)
            line.raw("}\n")
            try c.write(line)
        } else {
            try c.write("deleted \(id)\n")
        }
    }

    private static func history(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        let entries = try board.history(of: id)
        if c.json {
            for entry in entries { try c.write(AgentRendering.json(entry)) }
        } else {
            try c.write(AgentRendering.history(entries))
        }
    }

    private static func claim(_ c: SubcommandInvocation) throws {
        let next = c.has("--next")
        guard next != (c.arguments.count == 1) else {
            throw CLIError.usage("task claim needs exactly one of ID and --next")
        }
        guard let agent = try c.option("--agent") else {
            throw CLIError.usage("task claim needs --agent NAME")
        }
        var lease: Double?
        if let text = try c.option("--lease") {
            guard let seconds = Double(text), text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") })
            else {
                throw CLIError.usage("--lease must be a number of seconds, not \"\(text)\"")
            }
            lease = seconds
        }
        let id = try next ? nil : RecordID.validated(try c.argument(0, "ID"), kind: .task)
        guard let (board, store) = try c.openExistingBoard() else {
            throw CLIError.notFound(
                (id.map { "task \($0) not found" } ?? "nothing ready to claim")
                    + ": no store at \(c.invocation.storePath)")
        }
        defer { store.close() }
        let task: TaskRecord
        if let id {
            task = try board.claimTask(id, agent: agent, leaseSeconds: lease)
        } else {
            guard let claimed = try board.claimNextTask(agent: agent, leaseSeconds: lease) else {
                throw CLIError.notFound("nothing ready to claim in \(store.path)")
            }
            task = claimed
        }
        try printTask(c, task, idOnly: true)
    }

    private static func release(_ c: SubcommandInvocation) throws {
        let id = try RecordID.validated(try c.argument(0, "ID"), kind: .task)
        let actor = try c.actor
        let (board, store) = try c.requireBoard("task \(id) not found")
        defer { store.close() }
        try printTask(c, try board.releaseTask(id, by: actor.name, enforceClaim: actor.explicit))
    }

    private static func verify(_ c: SubcommandInvocation) throws {
        guard let (board, store) = try c.openExistingBoard() else {
            throw CLIError.notFound("no store at \(c.invocation.storePath)")
        }
        defer { store.close() }
        let report = try board.verifyIndexes()
        if c.json {
            try c.write(AgentRendering.json(report))
        } else {
            for problem in report.problems { try c.write(problem + "\n") }
            try c.write(
                "\(report.isConsistent ? "ok" : "INCONSISTENT"): \(report.tasks) tasks, \(report.decisions) decisions, "
                    + "\(report.handoffs) hand-offs, \(report.derivedEntries) index entries and edges\n")
        }
        if !report.isConsistent {
            throw CLIError(
                code: "corrupted", exit: 5,
                "\(report.problems.count) difference(s) between the records and their indexes in \(store.path)"
            )
        }
    }
}
