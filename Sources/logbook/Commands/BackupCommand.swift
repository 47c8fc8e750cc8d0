import Logbook

/// `logbook backup DIR`: an online, consistent, verified copy of the store in DIR (created; it
/// must not exist or be empty), taken while writers keep going; DIR opens as a store
/// (`logbook --store DIR ...`). Prints the sequence number the copy holds everything up to,
/// files and bytes (`--json`: one object). Progress on stderr when it is a terminal.
/// A missing store: exit 1; DIR not empty: exit 2; the copy does not verify: exit 5.
enum BackupCommand: Command {
    static let name = "backup"
    static let synopsis = "DIR"
    static let summary = "copy the store online into DIR (new or empty), consistent and verified"
    static let details: [String] = [
        "DIR must not exist or be empty; writers keep going meanwhile; the copy is verified",
        "output: the sequence number the copy holds every commit up to, files, bytes",
        "exit codes: 0 ok, 1 no store, 2 DIR not empty, 4 lock time-out, 5 the copy does not verify, 6 I/O",
        "examples:",
        "  logbook backup /backups/agents-$(date +%F)",
        "  logbook --store /backups/agents-2026-11-26 verify",
    ]
    static let positionals = 1...1

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let destination = String(decoding: invocation.positionals[0], as: UTF8.self)
        guard !destination.isEmpty else {
            throw CLIError.usage("backup needs a directory path, got an empty string")
        }
        guard let store = try invocation.openExistingStore() else {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        defer { store.close() }
        let showProgress = !invocation.json && Terminal.standardErrorIsTerminal
        let report = try store.backup(
            to: destination,
            progress: showProgress
                ? { fraction in Terminal.progress("backing up \(Int(fraction * 100))%") } : nil)
        if showProgress { Terminal.progress(nil) }
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("path", string: report.path)
            line.field("sequence", number: Int(report.sequence))
            line.field("generation", number: Int(report.generation))
            line.key("files")
            line.raw("[")
            for file in report.files { line.element(string: file) }
            line.raw("]")
            line.field("bytes", number: Int(report.bytes))
            line.field("verified", bool: true)
            line.field("seconds", decimal: report.seconds)
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            try output.write(
                "backed up to \(report.path): every commit up to sequence \(report.sequence), "
                    + "\(report.files.count) files, \(report.bytes) bytes, verified in "
                    + "\((report.seconds * 1000).rounded() / 1000) s\n")
        }
    }
}
