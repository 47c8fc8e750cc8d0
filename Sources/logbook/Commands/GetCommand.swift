import Logbook

/// `logbook get KEY...`: one key writes its value's bytes exactly (no newline added); `--json`:
/// `{"key":K,"value":V}` (or `value_base64` for bytes that are not UTF-8). Several keys write a
/// line per key, in the order given, all read from one state of the store: text
/// `KEY<TAB>VALUE\n` (as `scan`) for the keys found; `--json` the object above, with
/// `"value":null` for an absent key. Any key absent, or no store: exit 1. Never creates the store.
/// Reads straight from the store's files (`Store.getMany(_:at:options:)`): a few keys do not need
/// the whole log built into a memtable, and several keys cost one pass over it.
enum GetCommand: Command {
    static let name = "get"
    static let synopsis = "KEY [KEY...]"
    static let summary = "write KEY's value to stdout, byte for byte; several keys: a line each (absent: exit 1)"
    static let positionals = 1...Int.max

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let keys = try invocation.positionals.enumerated().map { index, key in
            try Validate.key(key, invocation.positionals.count == 1 ? "" : "key \(index + 1): ")
        }
        guard let values = try invocation.readMany(keys) else {
            let subject = keys.count == 1 ? "key \(Show.quoted(keys[0]))" : "keys"
            throw CLIError.notFound("\(subject) not found: no store at \(invocation.storePath)")
        }
        if keys.count == 1 && !invocation.json {
            if let value = values[0] { try output.write(value) }
        } else {
            for (key, value) in zip(keys, values) {
                if invocation.json {
                    if value == nil && keys.count == 1 { continue }  // the error says it
                    var line = JSONLine()
                    line.raw("{")
                    line.field("key", bytes: key)
                    if let value {
                        line.field("value", bytes: value)
                    } else {
                        line.key("value")
                        line.raw("null")
                    }
                    line.raw("}\n")
                    try output.write(line.bytes)
                } else if let value {
                    try output.write(key)
                    try output.write(byte: 0x09)
                    try output.write(value)
                    try output.write(byte: 0x0A)
                }
            }
        }
        let absent = zip(keys, values).filter { $0.1 == nil }.map { key, _ in Show.quoted(key) }
        if !absent.isEmpty {
            // The first few by name: the lines written (or their nulls) say which the others are.
            var subject = absent.count == 1 ? "key \(absent[0])" : "keys "
            if absent.count > 1 { subject += absent.prefix(Self.absentNamed).joined(separator: ", ") }
            if absent.count > Self.absentNamed { subject += " and \(absent.count - Self.absentNamed) more" }
            throw CLIError.notFound("\(subject) not found in \(invocation.storePath)")
        }
    }

    /// Absent keys the error names; it counts the rest.
    static let absentNamed = 5
}
