import Logbook

/// `logbook compact`: folds the log into a new snapshot and index. Prints bytes before and
/// after, keys and duration (`--json`: one object). Progress on stderr when it is a terminal.
enum CompactCommand: Command {
    static let name = "compact"
    static let synopsis = ""
    static let summary = "fold the log into a new snapshot; report bytes before/after, keys, time"
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        guard let store = try invocation.openExistingStore() else {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        defer { store.close() }
        let showProgress = !invocation.json && Terminal.standardErrorIsTerminal
        let report = try store.compact(
            progress: showProgress
                ? { fraction in Terminal.progress("compacting \(Int(fraction * 100))%") } : nil)
        if showProgress { Terminal.progress(nil) }
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("snapshot", number: Int(report.snapshot))
            line.field("sequence", number: Int(report.sequence))
            line.field("keys", number: Int(report.keys))
            line.field("bytes_before", number: Int(report.bytesBefore))
            line.field("bytes_after", number: Int(report.bytesAfter))
            line.field("seconds", decimal: report.seconds)
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            try output.write(
                "compacted: snapshot-\(report.snapshot), \(report.keys) keys, \(report.bytesBefore) -> "
                    + "\(report.bytesAfter) bytes in \((report.seconds * 1000).rounded() / 1000) s\n")
        }
    }
}
