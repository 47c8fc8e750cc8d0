/// Runs one `logbook` command line and returns the exit status.
enum CLI {
    static func run(_ arguments: [[UInt8]], environment: (String) -> String?) -> Int32 {
        let output = Output()
        // Errors found while parsing are rendered as JSON too when --json appears anywhere.
        let endOfOptions = arguments.firstIndex(of: Array("--".utf8)) ?? arguments.count
        var json = arguments[..<endOfOptions].contains(Array("--json".utf8))
        do {
            switch try ArgumentParser.parse(arguments, environment: environment) {
            case .help(let command):
                try output.write(command.map { Usage.text(for: $0) } ?? Usage.text)
            case .version(let asJSON):
                try output.write(
                    asJSON ? "{\"version\":\"\(Usage.version)\"}\n" : "logbook \(Usage.version)\n")
            case .run(let invocation):
                json = invocation.json
                try invocation.command.run(invocation, output)
            }
            try output.flush()
            return 0
        } catch {
            let failure = CLIError.from(error)
            try? output.flush()
            Terminal.writeError(failure.rendered(json: json))
            return failure.exit
        }
    }
}
