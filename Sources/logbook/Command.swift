/// One `logbook` subcommand: its name, what it accepts, and what it does.
///
/// The argument parser uses the declared options to split the command line; `run` gets the
/// parsed `Invocation` and writes its results to `output` (errors are thrown, never printed).
protocol Command: Sendable {
    /// The word that selects the command (`put`).
    static var name: String { get }
    /// Its arguments, as shown in the usage text (`KEY VALUE`).
    static var synopsis: String { get }
    /// One line saying what it does.
    static var summary: String { get }
    /// Boolean options it accepts (`--reverse`).
    static var flags: [String] { get }
    /// Options that take a value (`--prefix`).
    static var valueOptions: [String] { get }
    /// How many positional arguments it takes.
    static var positionals: ClosedRange<Int> { get }
    /// More lines for `logbook help COMMAND` (subcommands, say); empty for most commands.
    static var details: [String] { get }
    /// Does the work.
    static func run(_ invocation: Invocation, _ output: Output) throws
}

extension Command {
    static var flags: [String] { [] }
    static var valueOptions: [String] { [] }
    static var details: [String] { [] }
}

/// Every command, in the order the usage text lists them.
let allCommands: [any Command.Type] = [
    PutCommand.self, GetCommand.self, DeleteCommand.self, ScanCommand.self, BatchCommand.self,
    IncrCommand.self, CasCommand.self, VerifyCommand.self, StatsCommand.self, CompactCommand.self,
    LockCommand.self, RepairCommand.self, TaskCommand.self, DecisionCommand.self, HandoffCommand.self,
    ExportCommand.self, ImportCommand.self, BackupCommand.self, DumpCommand.self, WatchCommand.self,
]
