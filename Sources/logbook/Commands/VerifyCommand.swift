import Logbook

/// `logbook verify`: reads every file of the store and checks every checksum. Damage: exit 5
/// naming the file and offset. A torn tail left by a crash is reported but is not damage.
/// A missing store: exit 1.
enum VerifyCommand: Command {
    static let name = "verify"
    static let synopsis = ""
    static let summary = "check every checksum; exit 5 naming file and offset on damage"
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        // From the files alone: a store too damaged to open is still checked, and nothing is
        // written. A directory that is missing or holds no Logbook files is "no store".
        let report: VerifyReport
        do {
            report = try Store.verify(path: invocation.storePath)
        } catch let error as LogbookError where error.code == .notFound {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        if report.files.isEmpty { throw CLIError.notFound("no store at \(invocation.storePath)") }
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("ok", bool: true)
            line.key("files")
            line.raw("[")
            for file in report.files { line.element(string: file) }
            line.raw("]")
            line.field("records", number: report.records)
            line.field("blocks", number: report.blocks)
            line.field("snapshot_keys", number: Int(report.snapshotKeys))
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
            try output.write(
                "ok: \(report.records) log records, \(report.blocks) snapshot blocks (\(report.snapshotKeys) keys), "
                    + "\(report.bytes) bytes checked in \(files)\n")
            if let torn = report.tornTail {
                try output.write(
                    "torn tail: \(torn.length) bytes at offset \(torn.offset) (left by a crash; "
                        + "readers ignore it, the next write cuts it off)\n")
            }
        }
    }
}
