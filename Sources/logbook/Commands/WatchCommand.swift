import Logbook

/// `logbook watch [--prefix P] [--since SEQ] [--values] [--count N]`: prints every change
/// committed by any process, in commit order, as it happens, until interrupted (or after N
/// changes with `--count`). One line per change, flushed at once: `SEQ put KEY (N bytes)` or
/// `SEQ delete KEY` (`--values`: `SEQ put KEY = VALUE`); `--json`:
/// `{"sequence":S,"op":"put","key":K,"value_size":N}` (with `"value"` under `--values`).
/// `--since SEQ` starts after commit SEQ (default: from now on); exit 1 naming the snapshot when
/// those commits were already compacted away. It reads the log behind the writers and costs
/// them nothing; compactions do not interrupt it. A missing store: exit 1.
enum WatchCommand: Command {
    static let name = "watch"
    static let synopsis = "[--prefix P] [--since SEQ] [--values] [--count N]"
    static let summary = "stream committed changes (any process) in commit order, until interrupted"
    static let flags = ["--values"]
    static let valueOptions = ["--prefix", "--since", "--count"]
    static let details: [String] = [
        "options:",
        "  --prefix P    only changes to keys that start with P",
        "  --since SEQ   start after commit SEQ (default: from now on); exit 1 if it was compacted away",
        "  --values      print values, not only their sizes",
        "  --count N     stop after N changes (default: run until interrupted)",
        "output: `SEQ put KEY (N bytes)` or `SEQ delete KEY` per change, flushed at once;",
        "  --json: {\"sequence\":S,\"op\":\"put\",\"key\":K,\"value_size\":N}",
        "exit codes: 0 ok (--count reached), 1 no store or --since too old, 2 bad option, 5 damage",
        "examples:",
        "  logbook watch --prefix task/ --json",
        "  logbook watch --since \"$(cat last-seen)\" --count 1",
    ]
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        func number(_ option: String, minimum: Int) throws(CLIError) -> Int? {
            guard let text = invocation.option(option) else { return nil }
            guard let n = DecimalInteger.parse(text), n >= minimum, text.first != UInt8(ascii: "+") else {
                throw CLIError.usage(
                    "\(option) must be an integer of at least \(minimum), not \(Show.quoted(text))")
            }
            return n
        }
        let since = try number("--since", minimum: 0).map { UInt64($0) }
        let count = try number("--count", minimum: 1)
        let values = invocation.has("--values")
        guard let store = try invocation.openExistingStore() else {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        defer { store.close() }
        let feed = try store.changes(since: since, prefix: invocation.option("--prefix"))
        var seen = 0
        while count.map({ seen < $0 }) ?? true, let change = try feed.next(timeout: nil) {
            seen += 1
            if invocation.json {
                var line = JSONLine()
                line.raw("{")
                line.field("sequence", number: Int(change.sequence))
                line.field("op", string: change.value == nil ? "delete" : "put")
                line.field("key", bytes: change.key)
                if let value = change.value {
                    line.field("value_size", number: value.count)
                    if values { line.field("value", bytes: value) }
                }
                line.raw("}\n")
                try output.write(line.bytes)
            } else if let value = change.value {
                let shown = values ? "= " + Show.quoted(value, limit: 1 << 20) : "(\(value.count) bytes)"
                try output.write(
                    "\(change.sequence) put \(Show.quoted(change.key, limit: 1 << 20)) \(shown)\n")
            } else {
                try output.write("\(change.sequence) delete \(Show.quoted(change.key, limit: 1 << 20))\n")
            }
            try output.flush()
        }
    }
}
