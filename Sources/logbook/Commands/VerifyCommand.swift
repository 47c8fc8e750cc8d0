import Logbook

/// `logbook verify`: reads every file of the store and checks every checksum. Damage: exit 5
/// naming the file and offset. A torn tail left by a crash is reported but is not damage.
/// A missing store: exit 1.
enum VerifyCommand: Command {
    static let name = "verify"
    static let synopsis = ""
    static let summary = "check every checksum; exit 5 naming file and offset on damage"
    static let positionals = 0...0

    private static let hint = "; run `logbook verify` for details"

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let opened: Store?
        do {
            opened = try invocation.openExistingStore()
        } catch var error as LogbookError where error.code == .corrupted {
            // Damage found while replaying the log on open: that is this command's verdict.
            if error.message.hasSuffix(hint) { error.message.removeLast(hint.count) }
            throw error
        }
        guard let store = opened else {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        defer { store.close() }
        let report = try store.verify()
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("ok", bool: true)
            line.key("files")
            line.raw("[")
            for file in report.files { line.element(string: file) }
            line.raw("]")
            line.field("records", number: report.records)
            line.field("bytes", number: Int(report.bytes))
            if let torn = report.tornTail {
                line.key("torn_tail")
                line.raw("{")
                line.field("offset", number: Int(torn.offset))
                line.field("length", number: Int(torn.length))
                line.raw("}")
            } else {
                line.key("torn_tail")
                line.raw("null")
            }
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            let files = report.files.joined(separator: ", ")
            try output.write("ok: \(report.records) records, \(report.bytes) bytes checked in \(files)\n")
            if let torn = report.tornTail {
                try output.write(
                    "torn tail: \(torn.length) bytes at offset \(torn.offset) (left by a crash; "
                        + "readers ignore it, the next write cuts it off)\n")
            }
        }
    }
}
