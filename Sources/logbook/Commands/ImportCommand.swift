import Logbook

/// `logbook import FILE [--batch N]`: puts the pairs of FILE (`-`: stdin), JSON lines as
/// `export` writes them: `{"key":K,"value":V}`, `key_base64`/`value_base64` for any bytes.
///
/// Every line is read and validated first: a malformed line exits 2 naming it, and nothing is
/// written. Then the pairs are put N at a time (default 1000), each batch one atomic
/// transaction (a batch also closes before it would pass 32 MiB). Importing the same file again
/// leaves the same store, so an interrupted import is resumed by running it again. Keys not in
/// the file are left alone. Prints `imported N pairs in B batches` (`--json`: one object);
/// progress on stderr when it is a terminal.
enum ImportCommand: Command {
    static let name = "import"
    static let synopsis = "FILE [--batch N]"
    static let summary = "put the pairs of an export (JSON lines), N per atomic transaction"
    static let valueOptions = ["--batch"]
    static let details: [String] = [
        "FILE is an export (JSON lines {\"key\":K,\"value\":V}, or key_base64/value_base64); - is stdin",
        "options:",
        "  --batch N    pairs per atomic transaction (default 1000; a batch also closes at 32 MiB)",
        "every line is validated before anything is written; running it again gives the same store",
        "exit codes: 0 ok, 1 FILE missing, 2 malformed line (named; nothing written), 4 lock time-out, 6 I/O",
        "examples:",
        "  logbook --store /new/place import agents.jsonl",
        "  gunzip < tasks.jsonl.gz | logbook import - --batch 500",
    ]
    static let positionals = 1...1

    /// Bytes of keys and values after which a batch closes early (half the transaction limit).
    static let maxBatchBytes = Limits.maxTransactionSize / 2

    static func run(_ invocation: Invocation, _ output: Output) throws {
        var batchSize = 1000
        if let text = invocation.option("--batch") {
            guard let n = DecimalInteger.parse(text), n >= 1, text.first != UInt8(ascii: "+") else {
                throw CLIError.usage("--batch must be a positive integer, not \(Show.quoted(text))")
            }
            batchSize = n
        }
        let path = String(decoding: invocation.positionals[0], as: UTF8.self)
        let name = path == "-" ? "stdin" : path
        let pairs = try parse(try LocalFile.read(path), name: name)
        var batches: [ArraySlice<KeyValue>] = []
        var start = 0
        while start < pairs.count {
            var end = start
            var bytes = 0
            while end < pairs.count, end - start < batchSize,
                end == start || bytes + pairs[end].key.count + pairs[end].value.count <= maxBatchBytes
            {
                bytes += pairs[end].key.count + pairs[end].value.count
                end += 1
            }
            batches.append(pairs[start..<end])
            start = end
        }
        if !pairs.isEmpty {
            let store = try invocation.openStore()
            defer { store.close() }
            let showProgress = !invocation.json && Terminal.standardErrorIsTerminal && batches.count > 1
            var done = 0
            for batch in batches {
                try store.write { tx in
                    for pair in batch { try tx.put(pair.key, pair.value) }
                }
                done += batch.count
                if showProgress {
                    Terminal.progress("importing \(done * 100 / pairs.count)% (\(done) pairs)")
                }
            }
            if showProgress { Terminal.progress(nil) }
        }
        if invocation.json {
            let line = JSONLine.object { line in
                line.field("imported", number: pairs.count)
                line.field("batches", number: batches.count)
            }
            try output.write(line.bytes)
        } else {
            try output.write("imported \(pairs.count) pairs in \(batches.count) batches\n")
        }
    }

    /// Parses and validates every line; throws a usage error naming the first bad one.
    static func parse(_ input: [UInt8], name: String) throws(CLIError) -> [KeyValue] {
        try JSONInputObject.parseLines(input) { line, number throws(CLIError) in
            try parseLine(line, number: number, name: name)
        }
    }

    private static func parseLine(_ line: [UInt8], number: Int, name: String) throws(CLIError) -> KeyValue {
        let object = try JSONInputObject(
            line, allowed: ["key", "key_base64", "value", "value_base64"], place: "line \(number) of \(name): ",
            consequence: "nothing was imported")
        func bytes(_ field: String) throws(CLIError) -> [UInt8] {
            guard case .some(.some(let bytes)) = try object.bytes(field) else {
                throw object.error("\"\(field)\" is missing")
            }
            return bytes
        }
        let key = try bytes("key")
        let value = try bytes("value")
        do throws(CLIError) {
            return KeyValue(key: try Validate.key(key, object.place), value: try Validate.value(value, object.place))
        } catch {
            throw CLIError.usage(error.message + "; nothing was imported")
        }
    }
}
