import Logbook

/// `logbook export [--prefix P] [--out FILE]`: every live pair (under `P`) as JSON lines,
/// `{"key":K,"value":V}` in key order (`key_base64`/`value_base64` for bytes that are not
/// UTF-8, as `scan --json` writes them), all read from one consistent view: the store as of one
/// sequence number, while writers keep going. To stdout, or to FILE (written to `FILE.tmp`,
/// synced, renamed; then `exported N pairs as of sequence S to FILE` is printed, `--json`: one
/// object). `logbook import` reads the result back. A missing store: exit 1.
enum ExportCommand: Command {
    static let name = "export"
    static let synopsis = "[--prefix P] [--out FILE]"
    static let summary = "write every live pair as JSON lines, as of one sequence number"
    static let valueOptions = ["--prefix", "--out"]
    static let details: [String] = [
        "options:",
        "  --prefix P   only the keys that start with P",
        "  --out FILE   write to FILE (via FILE.tmp, synced, renamed) and print a summary; else stdout",
        "output: {\"key\":K,\"value\":V} per line, key order; key_base64/value_base64 when not UTF-8",
        "exit codes: 0 ok, 1 no store, 2 bad option, 6 I/O error",
        "examples:",
        "  logbook export --out agents.jsonl",
        "  logbook export --prefix task/ | gzip > tasks.jsonl.gz",
    ]
    static let positionals = 0...0
    /// Pairs between two progress reports.
    static let progressStep = 1024

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let prefix = invocation.option("--prefix").flatMap { $0.isEmpty ? nil : $0 }
        let outPath = invocation.option("--out").map { String(decoding: $0, as: UTF8.self) }
        if let outPath, outPath.isEmpty {
            throw CLIError.usage("--out needs a file path, got an empty string")
        }
        guard let store = try invocation.openExistingStore() else {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        defer { store.close() }
        let file = try outPath.map { path throws(CLIError) in try LocalFile.Writer(path) }
        let showProgress = !invocation.json && Terminal.standardErrorIsTerminal
        // One read view for the whole export, streamed through `visit`: each pair is written as
        // the walk reaches it (memory stays bounded by the output buffer), and every pair is as
        // of the same sequence number.
        let (exported, sequence) = try store.read { rtx throws -> (Int, UInt64) in
            let total = showProgress ? try rtx.count : 0
            var exported = 0
            try rtx.visit(ScanOptions(prefix: prefix)) { key, value in
                let line = JSONLine.pair(key: key, value: value)
                if let file { try file.write(line.bytes) } else { try output.write(line.bytes) }
                exported += 1
                if showProgress && total >= progressStep && exported % progressStep == 0 {
                    Terminal.progress("exporting \(min(100, exported * 100 / total))% (\(exported) pairs)")
                }
                return true
            }
            return (exported, rtx.sequence)
        }
        if showProgress { Terminal.progress(nil) }
        guard let file, let outPath else { return }
        try file.commit()
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("exported", number: exported)
            line.field("sequence", number: Int(sequence))
            line.field("file", string: outPath)
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            try output.write("exported \(exported) pairs as of sequence \(sequence) to \(outPath)\n")
        }
    }
}
