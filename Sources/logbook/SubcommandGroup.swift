/// A command whose first positional argument names one of its subcommands (`logbook task`,
/// `logbook decision`, `logbook handoff`): it declares the union of their options to the argument
/// parser, lists them in `logbook help NAME`, and runs the one named.
protocol SubcommandGroup: Command {
    /// The subcommands, in the order `logbook help NAME` lists them.
    static var table: [Subcommand] { get }
}

extension SubcommandGroup {
    static var synopsis: String { "SUBCOMMAND ... (logbook help \(name))" }
    static var positionals: ClosedRange<Int> { 1...Int.max }
    static var flags: [String] { Subcommand.flags(table) }
    static var valueOptions: [String] { Subcommand.valueOptions(table) }
    static var details: [String] { Subcommand.details(name, table) }

    static func run(_ invocation: Invocation, _ output: Output) throws {
        try Subcommand.dispatch(name, table, invocation, output)
    }
}
