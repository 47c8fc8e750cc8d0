import Logbook

/// `logbook put KEY VALUE`: sets KEY to VALUE in a transaction of its own; VALUE `-` reads the
/// value's bytes from stdin (to its end, nothing stripped). Prints nothing; `--json`: `{"ok":true}`.
enum PutCommand: Command {
    static let name = "put"
    static let synopsis = "KEY VALUE"
    static let summary = "set KEY to VALUE ('-' reads the value's bytes from stdin)"
    static let positionals = 2...2

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let key = try Validate.key(invocation.positionals[0])
        let argument = invocation.positionals[1]
        let value =
            argument == [UInt8(ascii: "-")]
            ? try Terminal.readStandardInput(limit: Limits.maxValueSize, what: "the value")
            : try Validate.value(argument)
        let store = try invocation.openStore()
        defer { store.close() }
        try store.put(key, value)
        if invocation.json { try output.write("{\"ok\":true}\n") }
    }
}
