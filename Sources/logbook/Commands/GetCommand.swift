import Logbook

/// `logbook get KEY`: writes the value's bytes exactly (no newline added); `--json`:
/// `{"key":K,"value":V}` (or `value_base64` for bytes that are not UTF-8). Absent key or
/// missing store: exit 1. Never creates the store.
enum GetCommand: Command {
    static let name = "get"
    static let synopsis = "KEY"
    static let summary = "write KEY's value to stdout, byte for byte (absent: exit 1)"
    static let positionals = 1...1

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let key = try Validate.key(invocation.positionals[0])
        guard let store = try invocation.openExistingStore() else {
            throw CLIError.notFound("key \(Show.quoted(key)) not found: no store at \(invocation.storePath)")
        }
        defer { store.close() }
        guard let value = try store.get(key) else {
            throw CLIError.notFound("key \(Show.quoted(key)) not found in \(store.path)")
        }
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("key", bytes: key)
            line.field("value", bytes: value)
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            try output.write(value)
        }
    }
}
