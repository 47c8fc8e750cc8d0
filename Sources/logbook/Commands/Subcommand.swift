import Logbook
import LogbookAgents
import LogbookJSON

/// One subcommand of `logbook task`, `logbook decision` or `logbook handoff`: what it accepts
/// and what it does. The entity command declares the union of its subcommands' options to the
/// argument parser; `Subcommand.dispatch` then checks them against the one named.
struct Subcommand: Sendable {
    let name: String
    let synopsis: String
    let summary: String
    var flags: [String] = []
    var valueOptions: [String] = []
    /// Positional arguments after the subcommand's name.
    let positionals: ClosedRange<Int>
    let run: @Sendable (SubcommandInvocation) throws -> Void

    /// Runs the subcommand named by the first positional argument of `invocation`. Agent-layer
    /// errors become CLI errors with the same exit codes as the key-value commands.
    static func dispatch(_ entity: String, _ table: [Subcommand], _ invocation: Invocation, _ output: Output)
        throws
    {
        let word = String(decoding: invocation.positionals[0], as: UTF8.self)
        guard let sub = table.first(where: { $0.name == word }) else {
            throw CLIError.usage(
                "unknown subcommand '\(word)' of `logbook \(entity)`; expected one of "
                    + table.map(\.name).joined(separator: ", "))
        }
        for option in invocation.options.keys.sorted() where !sub.valueOptions.contains(option) {
            throw CLIError.usage("unknown option \(option) for `logbook \(entity) \(sub.name)`")
        }
        for flag in invocation.flags.sorted() where !sub.flags.contains(flag) {
            throw CLIError.usage("unknown option \(flag) for `logbook \(entity) \(sub.name)`")
        }
        let arguments = Array(invocation.positionals.dropFirst())
        guard sub.positionals.contains(arguments.count) else {
            let problem =
                arguments.count > sub.positionals.upperBound ? "too many arguments" : "missing arguments"
            throw CLIError.usage("\(problem); usage: logbook \(entity) \(sub.name) \(sub.synopsis)")
        }
        let context = SubcommandInvocation(
            invocation: invocation, output: output, arguments: arguments, command: "\(entity) \(sub.name)")
        do {
            try sub.run(context)
        } catch let error as AgentError {
            throw CLIError(code: error.code.rawValue, exit: error.exitCode, error.message)
        }
    }

    static func flags(_ table: [Subcommand]) -> [String] { Array(Set(table.flatMap(\.flags))).sorted() }

    static func valueOptions(_ table: [Subcommand]) -> [String] {
        Array(Set(table.flatMap(\.valueOptions))).sorted()
    }

    /// One line per subcommand for `logbook help ENTITY`.
    static func details(_ entity: String, _ table: [Subcommand]) -> [String] {
        ["", "subcommands:"]
            + table.flatMap { sub in
                var line = "  \(entity) \(sub.name) \(sub.synopsis)"
                while line.last == " " { line.removeLast() }
                return [line, "      \(sub.summary)"]
            }
            + [
                "",
                "--agent NAME names who acts (history, claims); else $LOGBOOK_AGENT, else $USER.",
                "--json prints records as one JSON object per line. See Docs/Agents.md.",
            ]
    }
}

/// A subcommand's parsed command line, with typed, validated accessors.
struct SubcommandInvocation {
    let invocation: Invocation
    let output: Output
    /// The positional arguments after the subcommand's name.
    let arguments: [[UInt8]]
    /// `task create`, for messages.
    let command: String

    var json: Bool { invocation.json }

    /// Positional argument `index` as text (valid UTF-8).
    func argument(_ index: Int, _ what: String) throws -> String { try Self.text(arguments[index], what) }

    /// The value of option `name` as text, nil when not given.
    func option(_ name: String) throws -> String? {
        try invocation.option(name).map { try Self.text($0, name) }
    }

    /// Every value of option `name`, in order.
    func values(_ name: String) throws -> [String] {
        try invocation.values(name).map { try Self.text($0, name) }
    }

    func has(_ flag: String) -> Bool { invocation.has(flag) }

    /// `--limit N`: a non-negative decimal integer, or nil.
    func limit() throws -> Int? {
        guard let text = invocation.option("--limit") else { return nil }
        guard let n = DecimalInteger.parse(text), n >= 0, text.first != UInt8(ascii: "+"),
            text.first != UInt8(ascii: "-")
        else {
            throw CLIError.usage("--limit must be a non-negative integer, not \(Show.quoted(text))")
        }
        return n
    }

    /// `--priority P` parsed, or nil.
    func priority() throws -> Int? { try option("--priority").map { try Priority.parse($0) } }

    /// Who acts: `--agent`, else `$LOGBOOK_AGENT` (both explicit: claims are checked against
    /// them), else `$USER`, else `cli`.
    var actor: (name: String, explicit: Bool) {
        get throws {
            if let agent = try option("--agent") { return (agent, true) }
            if let agent = Terminal.environment("LOGBOOK_AGENT"), !agent.isEmpty { return (agent, true) }
            if let user = Terminal.environment("USER"), !user.isEmpty { return (user, false) }
            return ("cli", false)
        }
    }

    /// The board on the store, which is created when missing (write subcommands).
    func openBoard() throws -> (board: AgentBoard, store: Store) {
        let store = try invocation.openStore()
        return (AgentBoard(backend: store), store)
    }

    /// The board on the store if it exists (read subcommands never create it).
    func openExistingBoard() throws -> (board: AgentBoard, store: Store)? {
        guard let store = try invocation.openExistingStore() else { return nil }
        return (AgentBoard(backend: store), store)
    }

    /// The store must exist for a subcommand that reads one record.
    func requireBoard(_ missing: String) throws -> (board: AgentBoard, store: Store) {
        guard let opened = try openExistingBoard() else {
            throw CLIError.notFound("\(missing): no store at \(invocation.storePath)")
        }
        return opened
    }

    func write(_ text: String) throws { try output.write(text) }
    func write(_ line: JSONLine) throws { try output.write(line.bytes) }

    private static func text(_ bytes: [UInt8], _ what: String) throws -> String {
        guard UTF8Check.isValid(bytes) else { throw CLIError.usage("\(what) is not valid UTF-8") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
