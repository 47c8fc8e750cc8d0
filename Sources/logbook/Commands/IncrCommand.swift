import Logbook

/// `logbook incr KEY [BY]`: adds BY (default 1, may be negative) to the decimal integer stored
/// at KEY (absent counts as 0) in one serializable transaction (`store.write { }`), so
/// concurrent processes never lose an update. Prints the new value and a newline; `--json`:
/// `{"key":K,"value":N}`. A stored value that is not a decimal integer, or a result outside
/// the 64-bit range: exit 3, nothing written.
enum IncrCommand: Command {
    static let name = "incr"
    static let synopsis = "KEY [BY]"
    static let summary = "atomically add BY (default 1) to a decimal counter (absent = 0); print it"
    static let positionals = 1...2

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let key = try Validate.key(invocation.positionals[0])
        var by = 1
        if invocation.positionals.count == 2 {
            let text = invocation.positionals[1]
            guard let n = DecimalInteger.parse(text) else {
                throw CLIError.usage("BY must be a decimal integer, not \(Show.quoted(text))")
            }
            by = n
        }
        let store = try invocation.openStore()
        defer { store.close() }
        let result = try store.write { tx -> Int in
            var current = 0
            if let stored = try tx.get(key) {
                guard let n = DecimalInteger.parse(stored) else {
                    throw CLIError.conflict(
                        "the value of key \(Show.quoted(key)) in \(store.path) is not a decimal integer: "
                            + Show.quoted(stored, limit: 40))
                }
                current = n
            }
            let (sum, overflow) = current.addingReportingOverflow(by)
            if overflow {
                throw CLIError.conflict(
                    "incrementing key \(Show.quoted(key)) (\(current)) by \(by) overflows a 64-bit integer")
            }
            try tx.put(key, Array(String(sum).utf8))
            return sum
        }
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("key", bytes: key)
            line.field("value", number: result)
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            try output.write("\(result)\n")
        }
    }
}
