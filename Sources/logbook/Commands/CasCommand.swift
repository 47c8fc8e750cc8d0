import Logbook

/// `logbook cas KEY (--expect V | --absent) --set V`: sets KEY to the `--set` value only if its
/// current value is exactly the `--expect` value (or it is absent, with `--absent`), atomically.
/// A mismatch writes nothing and exits 3. Prints nothing; `--json`: `{"ok":true}`.
enum CasCommand: Command {
    static let name = "cas"
    static let synopsis = "KEY (--expect V | --absent) --set V"
    static let summary = "compare-and-swap: set KEY only if it holds V (or is absent); mismatch: exit 3"
    static let flags = ["--absent"]
    static let valueOptions = ["--expect", "--set"]
    static let positionals = 1...1

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let key = try Validate.key(invocation.positionals[0])
        let expect = invocation.option("--expect")
        let absent = invocation.has("--absent")
        guard (expect != nil) != absent else {
            throw CLIError.usage("cas needs exactly one of --expect V and --absent")
        }
        guard let new = invocation.option("--set") else { throw CLIError.usage("cas needs --set V") }
        _ = try Validate.value(new)
        // Expecting a value of a store that does not exist is a mismatch: do not create it.
        let store: Store
        if absent {
            store = try invocation.openStore()
        } else if let existing = try invocation.openExistingStore() {
            store = existing
        } else {
            throw CLIError.conflict(
                "cas failed: key \(Show.quoted(key)) is absent (no store at \(invocation.storePath)), not the expected value"
            )
        }
        defer { store.close() }
        guard try store.compareAndSwap(key, expected: expect, new: new) else {
            let now = try store.get(key)
            throw CLIError.conflict(
                "cas failed: key \(Show.quoted(key)) in \(store.path) "
                    + (now == nil
                        ? "is absent, not the expected value" : absent ? "exists" : "holds a different value")
            )
        }
        if invocation.json { try output.write("{\"ok\":true}\n") }
    }
}
