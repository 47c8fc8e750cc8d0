import Logbook

/// `logbook dump [--manifest] [--snapshot] [--log] [--values]`: everything in the store's
/// files, in file order, read without opening the store (works on a damaged store; takes no
/// lock): the MANIFEST's fields, each snapshot's blocks (offset, size, keys, value sizes and
/// sequences), each log segment's records (offset, size, sequence, each put or delete with
/// its key and value size). `--values` adds the values. With none of the three part flags,
/// all three. Damaged bytes are shown as `DAMAGED` spans (offset, length, reason) and reading
/// goes on after them; a torn tail is shown as such. `--json`: one object per item, with a
/// `"type"` of manifest, snapshot, block, segment, record, allocated (zeros after a segment's
/// last record) or damage. Exit 5 after the listing when damage (not a torn tail) was found;
/// exit 1 when there is no store.
enum DumpCommand: Command {
    static let name = "dump"
    static let synopsis = "[--manifest] [--snapshot] [--log] [--values]"
    static let summary = "list every record, block and MANIFEST field with offsets; show damage"
    static let flags = ["--manifest", "--snapshot", "--log", "--values"]
    static let details: [String] = [
        "reads the files without opening the store (no lock); works on a damaged store",
        "options:",
        "  --manifest, --snapshot, --log   only these parts (default: all three)",
        "  --values                        show values, not only their sizes",
        "output: one line (or with --json one object with a \"type\") per MANIFEST, snapshot, block,",
        "  segment, record or damaged span, with file offsets; changes indented under each",
        "exit codes: 0 ok (a torn tail is not damage), 1 no store, 5 damage found (after the listing)",
        "examples:",
        "  logbook dump --log | less",
        "  logbook --json dump --snapshot --values",
    ]
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        var parts: DumpParts = []
        if invocation.has("--manifest") { parts.insert(.manifest) }
        if invocation.has("--snapshot") { parts.insert(.snapshot) }
        if invocation.has("--log") { parts.insert(.log) }
        if parts.isEmpty { parts = .all }
        let values = invocation.has("--values")
        var damage: (count: Int, first: (file: String, offset: UInt64, reason: String)?) = (0, nil)
        var sawFiles = false
        do {
            try Store.dump(path: invocation.storePath, parts: parts) { item in
                if case .damage(let path, let offset, _, let reason, let torn) = item, !torn {
                    damage.count += 1
                    if damage.first == nil { damage.first = (path, offset, reason) }
                }
                if case .manifest(_, let present, _, _, _, _, _) = item, !present {} else { sawFiles = true }
                try output.write(invocation.json ? json(item, values: values) : text(item, values: values))
            }
        } catch let error as LogbookError where error.code == .notFound {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        if !sawFiles && parts == .all {
            throw CLIError.notFound("no store at \(invocation.storePath) (no Logbook files)")
        }
        if let first = damage.first {
            throw CLIError(
                code: LogbookError.Code.corrupted.rawValue, exit: 5,
                "\(damage.count) damaged span\(damage.count == 1 ? "" : "s") in \(invocation.storePath); the first in "
                    + "\(first.file) at offset \(first.offset): \(first.reason)",
                path: first.file, offset: first.offset)
        }
    }

    private static func base(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    static func text(_ item: DumpItem, values: Bool) -> [UInt8] {
        var out: [UInt8] = []
        func line(_ s: String) { out += Array((s + "\n").utf8) }
        func change(_ c: Change, withSequence: Bool) {
            let sequence = withSequence ? " seq \(c.sequence)" : ""
            if let value = c.value {
                let shown = values ? " = " + Show.quoted(value, limit: 1 << 20) : ""
                line(
                    "    put \(Show.quoted(c.key, limit: 1 << 20)) (\(value.count) bytes)\(sequence)\(shown)")
            } else {
                line("    delete \(Show.quoted(c.key, limit: 1 << 20))\(sequence)")
            }
        }
        switch item {
        case .manifest(
            let path, let present, let generation, let snapshot, let snapshotSequence, let first, let last):
            if present {
                line(
                    "\(base(path)): generation \(generation), snapshot \(snapshot) (commits up to sequence "
                        + "\(snapshotSequence)), log segments \(first)...\(last)")
            } else {
                line("MANIFEST: none (never compacted): no snapshot, log segment 1")
            }
        case .snapshot(let path, let number, let keys, let blocks, let dataSize):
            line("\(base(path)): snapshot \(number), \(keys) keys in \(blocks) blocks, \(dataSize) bytes")
        case .block(let path, let offset, let length, let entries):
            line("\(base(path)) @\(offset): block of \(length) bytes, \(entries.count) entries")
            for entry in entries { change(entry, withSequence: true) }
        case .segment(let path, let number, let size, let named):
            line(
                "\(base(path)): log segment \(number), \(size) bytes\(named ? "" : " (not named by the MANIFEST: a leftover)")"
            )
        case .record(let path, let offset, let length, let sequence, let changes):
            line(
                "\(base(path)) @\(offset): record sequence \(sequence), \(length) bytes, \(changes.count) changes"
            )
            for c in changes { change(c, withSequence: false) }
        case .allocated(let path, let offset, let length):
            line("\(base(path)) @\(offset): \(length) bytes allocated ahead (zeros, not records)")
        case .damage(let path, let offset, let length, let reason, let torn):
            if torn {
                line(
                    "\(base(path)) @\(offset): torn tail of \(length) bytes (left by a crash; ignored, cut by the next write)"
                )
            } else {
                line("\(base(path)) @\(offset): DAMAGED, \(length) bytes: \(reason)")
            }
        }
        return out
    }

    static func json(_ item: DumpItem, values: Bool) -> [UInt8] {
        var out = JSONLine()
        out.raw("{")
        func changes(_ list: [Change], name: String, withSequence: Bool) {
            out.key(name)
            out.raw("[")
            for (i, c) in list.enumerated() {
                out.raw(i == 0 ? "{" : ",{")
                out.field("op", string: c.value == nil ? "delete" : "put")
                out.field("key", bytes: c.key)
                if withSequence { out.field("sequence", number: Int(c.sequence)) }
                if let value = c.value {
                    out.field("value_size", number: value.count)
                    if values { out.field("value", bytes: value) }
                }
                out.raw("}")
            }
            out.raw("]")
        }
        switch item {
        case .manifest(
            let path, let present, let generation, let snapshot, let snapshotSequence, let first, let last):
            out.field("type", string: "manifest")
            out.field("file", string: base(path))
            out.field("present", bool: present)
            out.field("generation", number: Int(generation))
            out.field("snapshot", number: Int(snapshot))
            out.field("snapshot_sequence", number: Int(snapshotSequence))
            out.field("first_log", number: Int(first))
            out.field("last_log", number: Int(last))
        case .snapshot(let path, let number, let keys, let blocks, let dataSize):
            out.field("type", string: "snapshot")
            out.field("file", string: base(path))
            out.field("number", number: Int(number))
            out.field("keys", number: Int(keys))
            out.field("blocks", number: blocks)
            out.field("bytes", number: Int(dataSize))
        case .block(let path, let offset, let length, let entries):
            out.field("type", string: "block")
            out.field("file", string: base(path))
            out.field("offset", number: Int(offset))
            out.field("length", number: Int(length))
            changes(entries, name: "entries", withSequence: true)
        case .segment(let path, let number, let size, let named):
            out.field("type", string: "segment")
            out.field("file", string: base(path))
            out.field("number", number: Int(number))
            out.field("bytes", number: Int(size))
            out.field("named", bool: named)
        case .record(let path, let offset, let length, let sequence, let list):
            out.field("type", string: "record")
            out.field("file", string: base(path))
            out.field("offset", number: Int(offset))
            out.field("length", number: Int(length))
            out.field("sequence", number: Int(sequence))
            changes(list, name: "changes", withSequence: false)
        case .allocated(let path, let offset, let length):
            out.field("type", string: "allocated")
            out.field("file", string: base(path))
            out.field("offset", number: Int(offset))
            out.field("length", number: Int(length))
        case .damage(let path, let offset, let length, let reason, let torn):
            out.field("type", string: "damage")
            out.field("file", string: base(path))
            out.field("offset", number: Int(offset))
            out.field("length", number: Int(length))
            out.field("torn", bool: torn)
            out.field("reason", string: reason)
        }
        out.raw("}\n")
        return out.bytes
    }
}
