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
            var line = JSONLine()
            line.raw("{")
            line.field("imported", number: pairs.count)
            line.field("batches", number: batches.count)
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            try output.write("imported \(pairs.count) pairs in \(batches.count) batches\n")
        }
    }

    /// Parses and validates every line; throws a usage error naming the first bad one.
    static func parse(_ input: [UInt8], name: String) throws(CLIError) -> [KeyValue] {
        var pairs: [KeyValue] = []
        var lineNumber = 0
        var start = 0
        while start < input.count {
            let end = input[start...].firstIndex(of: 0x0A) ?? input.count
            lineNumber += 1
            let line = Array(input[start..<end])
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            pairs.append(try parseLine(line, number: lineNumber, name: name))
        }
        return pairs
    }

    private static func parseLine(_ line: [UInt8], number: Int, name: String) throws(CLIError) -> KeyValue {
        let place = "line \(number) of \(name): "
        func bad(_ message: String) -> CLIError { CLIError.usage(place + message + "; nothing was imported") }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(line)
        } catch {
            throw bad("malformed JSON at column \(error.offset + 1): \(error.message)")
        }
        guard case .object(let members) = parsed else { throw bad("expected a JSON object") }
        var fields: [String: JSONValue] = [:]
        for member in members {
            let field = String(decoding: member.name, as: UTF8.self)
            guard ["key", "key_base64", "value", "value_base64"].contains(field) else {
                throw bad("unknown field \(Show.quoted(member.name))")
            }
            fields[field] = member.value
        }
        func bytes(_ field: String) throws(CLIError) -> [UInt8] {
            switch (fields[field], fields[field + "_base64"]) {
            case (nil, nil): throw bad("\"\(field)\" is missing")
            case (.string(let s)?, nil): return s
            case (nil, .string(let s)?):
                guard let decoded = Base64.decode(s) else {
                    throw bad("\"\(field)_base64\" is not valid base64")
                }
                return decoded
            case (_?, _?): throw bad("give \"\(field)\" or \"\(field)_base64\", not both")
            case (_?, nil): throw bad("\"\(field)\" must be a string")
            case (nil, _?): throw bad("\"\(field)_base64\" must be a string")
            }
        }
        let key = try bytes("key")
        let value = try bytes("value")
        do throws(CLIError) {
            return KeyValue(key: try Validate.key(key, place), value: try Validate.value(value, place))
        } catch {
            throw CLIError.usage(error.message + "; nothing was imported")
        }
    }
}
