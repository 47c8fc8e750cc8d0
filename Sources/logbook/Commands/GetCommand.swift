import Logbook

/// `logbook get KEY`: writes the value's bytes exactly (no newline added); `--json`:
/// `{"key":K,"value":V}` (or `value_base64` for bytes that are not UTF-8). Absent key or
/// missing store: exit 1. Never creates the store. Reads the key straight from the store's files
/// (`Store.get(_:at:options:)`): one key does not need the whole log built into a memtable.
enum GetCommand: Command {
    static let name = "get"
    static let synopsis = "KEY"
    static let summary = "write KEY's value to stdout, byte for byte (absent: exit 1)"
    static let positionals = 1...1

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let key = try Validate.key(invocation.positionals[0])
        guard let found = try invocation.readOne(key) else {
            throw CLIError.notFound("key \(Show.quoted(key)) not found: no store at \(invocation.storePath)")
        }
        guard let value = found else {
            throw CLIError.notFound("key \(Show.quoted(key)) not found in \(invocation.storePath)")
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
