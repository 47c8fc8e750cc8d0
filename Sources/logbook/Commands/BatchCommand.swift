import Logbook

/// `logbook batch [--each]`: applies JSON lines read from stdin.
///
/// Each non-blank line is one object:
///
///     {"op":"put","key":K,"value":V}
///     {"op":"delete","key":K}
///     {"op":"check","key":K,"value":V}       V null: K must be absent
///
/// Keys and values are JSON strings (their UTF-8 bytes); `key_base64` / `value_base64` carry any
/// bytes instead. All of stdin is read and validated first: a malformed line exits 2 naming
/// it, and nothing is written. Then, by default, every line is one atomic transaction: a failed
/// check aborts it (exit 3, nothing written), success prints `{"committed":N}` (N = operations
/// applied). With `--each`, every line is its own transaction, and after each commit
/// `{"committed":N,"key":K}` (N = the 1-based input line number) is printed and flushed; a
/// failed check stops there with exit 3, keeping the lines committed before it.
enum BatchCommand: Command {
    static let name = "batch"
    static let synopsis = "[--each]"
    static let summary = "apply JSON lines from stdin as one transaction (--each: one per line)"
    static let flags = ["--each"]
    static let positionals = 0...0

    /// One operation of the input.
    struct Operation {
        enum Kind: String { case put, delete, check }
        var line: Int
        var kind: Kind
        var key: [UInt8]
        /// The value to put, or the value a check expects (nil: absent).
        var value: [UInt8]?
    }

    /// The largest batch input accepted: twice the transaction limit, room for JSON escaping.
    static let maxInput = 2 * Limits.maxTransactionSize + (1 << 20)

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let input = try Terminal.readStandardInput(limit: maxInput, what: "the batch input")
        let operations = try parse(input)
        if invocation.has("--each") {
            guard !operations.isEmpty else { return }
            let store = try invocation.openStore()
            defer { store.close() }
            for operation in operations {
                try store.write { tx in try apply(operation, tx, store: store) }
                let line = JSONLine.object { line in
                    line.field("committed", number: operation.line)
                    line.field("key", bytes: operation.key)
                }
                try output.write(line.bytes)
                try output.flush()
            }
        } else {
            if !operations.isEmpty {
                let store = try invocation.openStore()
                defer { store.close() }
                try store.write { tx in
                    for operation in operations { try apply(operation, tx, store: store) }
                }
            }
            try output.write("{\"committed\":\(operations.count)}\n")
        }
    }

    private static func apply(_ operation: Operation, _ tx: WriteTransaction, store: Store) throws {
        switch operation.kind {
        case .put: try tx.put(operation.key, operation.value!)
        case .delete: try tx.delete(operation.key)
        case .check:
            let current = try tx.get(operation.key)
            guard current == operation.value else {
                let found = current.map { "holds " + Show.quoted($0, limit: 40) } ?? "is absent"
                let wanted = operation.value.map { Show.quoted($0, limit: 40) } ?? "absent"
                throw CLIError.conflict(
                    "check failed on line \(operation.line) of the batch input: key \(Show.quoted(operation.key)) "
                        + "in \(store.path) \(found), expected \(wanted); nothing from this transaction was written"
                )
            }
        }
    }

    /// Parses and validates every line; throws a usage error naming the first bad one.
    static func parse(_ input: [UInt8]) throws(CLIError) -> [Operation] {
        try JSONInputObject.parseLines(input, parseLine)
    }

    private static func parseLine(_ line: [UInt8], number: Int) throws(CLIError) -> Operation {
        let object = try JSONInputObject(
            line, allowed: ["op", "key", "key_base64", "value", "value_base64"],
            place: "line \(number) of the batch input: ", consequence: "nothing was written")
        guard case .string(let opName)? = object["op"] else { throw object.error("\"op\" must be a string") }
        guard let kind = Operation.Kind(rawValue: String(decoding: opName, as: UTF8.self)) else {
            throw object.error("unknown op \(Show.quoted(opName)); expected put, delete or check")
        }
        guard case .some(.some(let key)) = try object.bytes("key") else {
            throw object.error("\"key\" is missing")
        }
        _ = try Validate.key(key, object.place)
        let value = try object.bytes("value", nullable: kind == .check)
        switch kind {
        case .put:
            guard case .some(.some(let v)) = value else { throw object.error("put needs \"value\"") }
            _ = try Validate.value(v, object.place)
            return Operation(line: number, kind: .put, key: key, value: v)
        case .delete:
            guard value == nil else { throw object.error("delete takes no \"value\"") }
            return Operation(line: number, kind: .delete, key: key, value: nil)
        case .check:
            guard case .some(let expected) = value else {
                throw object.error("check needs \"value\" (null to require that the key is absent)")
            }
            return Operation(line: number, kind: .check, key: key, value: expected)
        }
    }
}
