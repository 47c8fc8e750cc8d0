import Logbook

/// `logbook repair`: salvages a damaged store (the longest valid prefix of the log, every intact
/// snapshot block), after copying its files to `STORE/backup-YYYYMMDD-HHMMSS/`, and says exactly
/// what it dropped. A store with no damage is left as it is (exit 0). Missing store: exit 1;
/// another process holding a lock past the time-out: exit 4. See Docs/Operations.md.
enum RepairCommand: Command {
    static let name = "repair"
    static let synopsis = ""
    static let summary = "salvage a damaged store (backup first); report what was dropped"
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        let report: RepairReport
        do {
            report = try Store.repair(
                path: invocation.storePath,
                options: StoreOptions(lockTimeout: invocation.lockTimeout, programName: "logbook repair"))
        } catch let error as LogbookError where error.code == .notFound {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        if invocation.json {
            try output.write(json(report))
            return
        }
        guard report.repaired else {
            try output.write(
                "nothing to repair: no damage in \(report.path) (\(report.keptRecords) log records, "
                    + "\(report.keptSnapshotKeys) snapshot keys)\n")
            if report.tornTailBytes > 0 {
                try output.write(
                    "torn tail: \(report.tornTailBytes) bytes at the end of the log (left by a crash; "
                        + "the next write cuts it off)\n")
            }
            return
        }
        var text = "repaired \(report.path); the damaged files are backed up in \(report.backupPath ?? "?")\n"
        for problem in report.problems { text += "damage: \(problem)\n" }
        text +=
            "kept: \(report.keptSnapshotKeys) snapshot keys in \(report.keptBlocks) blocks, "
            + "\(report.keptRecords) log records; the store now holds \(report.keys) keys up to sequence "
            + "\(report.lastSequence)\n"
        let lostKeys = report.droppedBlocks.compactMap(\.keys).reduce(0, +)
        text +=
            "dropped: \(report.droppedRecords) log records, \(report.droppedBlocks.count) snapshot blocks"
            + (lostKeys > 0 ? " (\(lostKeys) keys)" : "") + ", \(report.droppedBytes) bytes"
            + (report.tornTailBytes > 0 ? ", and a torn tail of \(report.tornTailBytes) bytes" : "") + "\n"
        if !report.droppedKeys.isEmpty {
            text +=
                "keys written by dropped records: "
                + report.droppedKeys.map { Show.quoted($0) }.joined(separator: ", ") + "\n"
        }
        for block in report.droppedBlocks {
            let after = block.after.map { "after \(Show.quoted($0))" } ?? "from the first key"
            let through = block.through.map { " through \(Show.quoted($0))" } ?? ""
            let keys = block.keys.map { "\($0) keys" } ?? "keys"
            text +=
                "lost snapshot block at offset \(block.offset) (\(block.bytes) bytes): \(keys) \(after)\(through)\n"
        }
        try output.write(text)
    }

    /// The report as one JSON object.
    static func json(_ report: RepairReport) -> [UInt8] {
        var line = JSONLine()
        line.raw("{")
        line.field("path", string: report.path)
        line.field("repaired", bool: report.repaired)
        if let backup = report.backupPath {
            line.field("backup", string: backup)
        } else {
            line.key("backup")
            line.raw("null")
        }
        line.key("problems")
        line.raw("[")
        for problem in report.problems { line.element(string: problem) }
        line.raw("]")
        line.field("kept_records", number: report.keptRecords)
        line.field("kept_blocks", number: report.keptBlocks)
        line.field("kept_snapshot_keys", number: Int(report.keptSnapshotKeys))
        line.field("dropped_records", number: report.droppedRecords)
        line.field("dropped_bytes", number: Int(report.droppedBytes))
        line.key("dropped_keys")
        line.raw("[")
        for (i, key) in report.droppedKeys.enumerated() {
            line.raw(i == 0 ? "{" : ",{")
            line.field("key", bytes: key)
            line.raw("}")
        }
        line.raw("]")
        line.key("dropped_blocks")
        line.raw("[")
        for (i, block) in report.droppedBlocks.enumerated() {
            line.raw(i == 0 ? "{" : ",{")
            line.field("offset", number: Int(block.offset))
            line.field("bytes", number: Int(block.bytes))
            if let keys = block.keys { line.field("keys", number: Int(keys)) }
            if let after = block.after { line.field("after", bytes: after) }
            if let through = block.through { line.field("through", bytes: through) }
            line.raw("}")
        }
        line.raw("]")
        line.field("torn_tail_bytes", number: Int(report.tornTailBytes))
        line.field("keys", number: report.keys)
        line.field("last_sequence", number: Int(report.lastSequence))
        line.raw("}\n")
        return line.bytes
    }
}
