import Logbook

/// `logbook delete KEY`: removes KEY. An absent key (or a missing store, which is not created)
/// succeeds too; `--json` says which: `{"deleted":true}` or `{"deleted":false}`.
enum DeleteCommand: Command {
    static let name = "delete"
    static let synopsis = "KEY"
    static let summary = "remove KEY (absent is fine; --json says whether it existed)"
    static let positionals = 1...1

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let key = try Validate.key(invocation.positionals[0])
        var existed = false
        if let store = try invocation.openExistingStore() {
            defer { store.close() }
            existed = try store.delete(key)
        }
        if invocation.json { try output.write("{\"deleted\":\(existed)}\n") }
    }
}
