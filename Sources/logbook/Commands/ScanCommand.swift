import Logbook

/// `logbook scan`: the pairs in a key range, in byte order of keys (or reverse).
/// `--start` is inclusive, `--end` exclusive, `--prefix` narrows further, `--limit N` stops after
/// N pairs. Text: `KEY<TAB>VALUE\n` per pair (raw bytes; `--keys-only`: `KEY\n`). `--json`: one
/// `{"key":K,"value":V}` per line, with `key_base64`/`value_base64` for bytes that are not
/// UTF-8. A missing store scans as empty and is not created.
enum ScanCommand: Command {
    static let name = "scan"
    static let synopsis = "[--prefix P] [--start K] [--end K] [--limit N] [--reverse] [--keys-only]"
    static let summary = "list pairs in key order: start inclusive, end exclusive"
    static let flags = ["--reverse", "--keys-only"]
    static let valueOptions = ["--prefix", "--start", "--end", "--limit"]
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        var limit: Int?
        if let text = invocation.option("--limit") {
            guard let n = DecimalInteger.parse(text), n >= 0, text.first != UInt8(ascii: "+"),
                text.first != UInt8(ascii: "-")
            else {
                throw CLIError.usage("--limit must be a non-negative integer, not \(Show.quoted(text))")
            }
            limit = n
        }
        let prefix = invocation.option("--prefix").flatMap { $0.isEmpty ? nil : $0 }
        let options = ScanOptions(
            prefix: prefix, start: invocation.option("--start"), end: invocation.option("--end"),
            limit: limit,
            reverse: invocation.has("--reverse"))
        guard let store = try invocation.openExistingStore() else { return }
        defer { store.close() }
        let keysOnly = invocation.has("--keys-only")
        // Streamed: each pair is written as the visit reaches it, so a scan of a large store
        // holds no more than the output buffer.
        try store.visit(options) { key, value in
            if invocation.json {
                try output.write(JSONLine.pair(key: key, value: keysOnly ? nil : value).bytes)
            } else {
                try output.write(key)
                if !keysOnly {
                    try output.write(byte: 0x09)
                    try output.write(value)
                }
                try output.write(byte: 0x0A)
            }
            return true
        }
    }
}
