import Logbook

/// What the command line asks for.
enum ParsedCommandLine {
    /// Print the usage text (of one command, when named) and exit 0.
    case help((any Command.Type)?)
    /// Print the version and exit 0.
    case version(json: Bool)
    case run(Invocation)
}

/// Splits the command line into global options, the command, its options and positional
/// arguments. Options may stand before or after the command (command options after it);
/// `--name=value` and `--name value` are equivalent; `--` ends the options; `-` and negative
/// numbers (`-5`) are positional arguments.
enum ArgumentParser {
    static let globalValueOptions = ["--store", "--durability", "--lock-timeout"]
    static let globalFlags = ["--json", "--help", "--version"]

    static func parse(_ arguments: [[UInt8]], environment: (String) -> String?) throws(CLIError)
        -> ParsedCommandLine
    {
        var command: (any Command.Type)?
        var globals: [String: String] = [:]
        var globalFlagsSeen: Set<String> = []
        var options: [String: [UInt8]] = [:]
        var repeated: [String: [[UInt8]]] = [:]
        var flags: Set<String> = []
        var positionals: [[UInt8]] = []
        var endOfOptions = false
        var index = 0

        while index < arguments.count {
            let token = arguments[index]
            index += 1
            let text = String(decoding: token, as: UTF8.self)
            if endOfOptions || !isOption(token) {
                if command == nil {
                    if text == "help" {
                        return .help(
                            arguments.dropFirst(index).first.flatMap {
                                lookup(String(decoding: $0, as: UTF8.self))
                            })
                    }
                    guard let found = lookup(text) else {
                        let hint = Suggest.command(for: text).map { "did you mean `logbook \($0)`? " } ?? ""
                        throw CLIError.usage("unknown command '\(text)'; \(hint)run `logbook help` for the list")
                    }
                    command = found
                } else {
                    positionals.append(token)
                }
                continue
            }
            if text == "--" {
                endOfOptions = true
                continue
            }
            if text == "-h" {
                globalFlagsSeen.insert("--help")
                continue
            }
            let name: String
            var inlineValue: [UInt8]?
            if let equals = token.firstIndex(of: UInt8(ascii: "=")) {
                name = String(decoding: token[..<equals], as: UTF8.self)
                inlineValue = Array(token[(equals + 1)...])
            } else {
                name = text
            }
            func value() throws(CLIError) -> [UInt8] {
                if let inlineValue { return inlineValue }
                guard index < arguments.count else { throw CLIError.usage("option \(name) needs a value") }
                index += 1
                return arguments[index - 1]
            }
            func noValue() throws(CLIError) {
                if inlineValue != nil { throw CLIError.usage("option \(name) takes no value") }
            }
            if globalValueOptions.contains(name) {
                globals[name] = String(decoding: try value(), as: UTF8.self)
            } else if globalFlags.contains(name) {
                try noValue()
                globalFlagsSeen.insert(name)
            } else if let command, command.valueOptions.contains(name) {
                let given = try value()
                options[name] = given
                repeated[name, default: []].append(given)
            } else if let command, command.flags.contains(name) {
                try noValue()
                flags.insert(name)
            } else if let command {
                throw CLIError.usage("unknown option \(name) for `logbook \(command.name)`")
            } else {
                throw CLIError.usage(
                    "unknown option \(name) (options of a command go after the command name)")
            }
        }

        if globalFlagsSeen.contains("--help") { return .help(command) }
        let json = globalFlagsSeen.contains("--json")
        if globalFlagsSeen.contains("--version") { return .version(json: json) }
        guard let command else {
            throw CLIError.usage("no command given; run `logbook help` for usage")
        }
        guard command.positionals.contains(positionals.count) else {
            if positionals.count > command.positionals.upperBound {
                let extra = String(decoding: positionals[command.positionals.upperBound], as: UTF8.self)
                throw CLIError.usage(
                    "unexpected argument '\(extra)'; usage: logbook \(command.name) \(command.synopsis)")
            }
            throw CLIError.usage("missing arguments; usage: logbook \(command.name) \(command.synopsis)")
        }

        var invocation = Invocation(
            storePath: try storePath(globals["--store"], environment: environment),
            durability: try durability(globals["--durability"]),
            json: json,
            lockTimeout: try lockTimeout(globals["--lock-timeout"], environment: environment),
            command: command)
        invocation.options = options
        invocation.repeatedOptions = repeated
        invocation.flags = flags
        invocation.positionals = positionals
        return .run(invocation)
    }

    /// `--x`, `-x`; not `-`, not a negative number like `-5`.
    private static func isOption(_ token: [UInt8]) -> Bool {
        guard token.count > 1, token[0] == UInt8(ascii: "-") else { return false }
        let second = token[1]
        return !(second >= UInt8(ascii: "0") && second <= UInt8(ascii: "9"))
    }

    static func lookup(_ name: String) -> (any Command.Type)? {
        allCommands.first { $0.name == name }
    }

    private static func storePath(_ option: String?, environment: (String) -> String?) throws(CLIError)
        -> String
    {
        if let option {
            guard !option.isEmpty else {
                throw CLIError.usage("--store needs a directory path, got an empty string")
            }
            return option
        }
        if let fromEnvironment = environment("LOGBOOK_DIR"), !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return "./.logbook"
    }

    private static func durability(_ option: String?) throws(CLIError) -> Durability {
        guard let option else { return .normal }
        guard let mode = Durability(rawValue: option) else {
            throw CLIError.usage("--durability must be relaxed, normal or paranoid, not '\(option)'")
        }
        return mode
    }

    /// The longest wait accepted, in seconds (about 31 years).
    static let maxLockTimeout = 1e9

    private static func lockTimeout(_ option: String?, environment: (String) -> String?) throws(CLIError)
        -> Double
    {
        let source: String
        let text: String
        if let option {
            (source, text) = ("--lock-timeout", option)
        } else if let fromEnvironment = environment("LOGBOOK_LOCK_TIMEOUT"), !fromEnvironment.isEmpty {
            (source, text) = ("LOGBOOK_LOCK_TIMEOUT", fromEnvironment)
        } else {
            return 10
        }
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= maxLockTimeout,
            text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") })
        else {
            throw CLIError.usage(
                "\(source) must be a number of seconds between 0 and \(Int(maxLockTimeout)), not '\(text)'")
        }
        return seconds
    }
}
