import Logbook

/// `logbook lock`: whether the writer lock, the compaction lock and the sync turn are held, and
/// by whom (pid, program, since, alive). Missing store: exit 1.
enum LockCommand: Command {
    static let name = "lock"
    static let synopsis = ""
    static let summary = "show whether the writer lock, compaction lock and sync turn are held, and by whom"
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        guard let store = try invocation.openExistingStore() else {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        defer { store.close() }
        let status = try store.lockStatus()
        let locks = [
            ("writer", "writer lock", status.writerHeld, status.writerHolder),
            ("compaction", "compaction lock", status.compactionHeld, status.compactionHolder),
            ("sync", "sync turn", status.syncTurnHeld, status.syncTurnHolder),
        ]
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("path", string: status.path)
            for (key, _, held, holder) in locks {
                line.key(key)
                line.raw("{")
                line.field("held", bool: held)
                if let holder {
                    line.field("pid", number: Int(holder.pid))
                    line.field("program", string: holder.program)
                    line.field("held_seconds", decimal: holder.heldSeconds, digits: 3)
                    line.field("alive", bool: holder.isAlive)
                }
                line.raw("}")
            }
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            var text = ""
            for (_, name, held, holder) in locks {
                let state = held ? "held by " + (holder?.summary ?? "another process (holder not recorded)") : "free"
                text += name + String(repeating: " ", count: 17 - name.count) + state + "\n"
            }
            try output.write(text)
        }
    }
}
