import Logbook

/// `logbook lock`: whether the writer lock, the compaction lock and the sync turn are held, and
/// by whom for the writer lock (pid, program, since, alive). Missing store: exit 1.
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
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("path", string: status.path)
            line.key("writer")
            line.raw("{")
            line.field("held", bool: status.writerHeld)
            if let holder = status.writerHolder {
                line.field("pid", number: Int(holder.pid))
                line.field("program", string: holder.program)
                line.field("held_seconds", decimal: holder.heldSeconds, digits: 3)
                line.field("alive", bool: holder.isAlive)
            }
            line.raw("}")
            line.key("compaction")
            line.raw("{")
            line.field("held", bool: status.compactionHeld)
            line.raw("}")
            line.key("sync")
            line.raw("{")
            line.field("held", bool: status.syncTurnHeld)
            line.raw("}")
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            let writer =
                status.writerHeld
                ? "held by " + (status.writerHolder?.summary ?? "another process (holder not recorded)") : "free"
            try output.write(
                "writer lock      \(writer)\ncompaction lock  \(status.compactionHeld ? "held" : "free")\n"
                    + "sync turn        \(status.syncTurnHeld ? "held (another writer is syncing the log)" : "free")\n")
        }
    }
}
