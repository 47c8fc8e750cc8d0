/// The usage text and version of `logbook`.
enum Usage {
    static let version = "0.1.0"

    /// The full usage text.
    static var text: String {
        var lines = [
            "logbook \(version): an embedded, transactional key-value store",
            "",
            "usage: logbook [--store DIR] [--durability relaxed|normal|paranoid] [--json] [--lock-timeout SECONDS]",
            "               COMMAND ...",
            "",
            "commands:",
        ]
        for command in allCommands {
            lines.append("  \(command.name) \(command.synopsis)".trailingSpacesRemoved)
            lines.append("      \(command.summary)")
        }
        lines += [
            "  help [COMMAND]",
            "      this text (also --help, -h); --version prints the version",
            "",
            "options (before or after the command):",
            "  --store DIR          the store directory; else $LOGBOOK_DIR, else ./.logbook",
            "                       (created by the first write; reads never create it)",
            "  --durability MODE    relaxed | normal (default) | paranoid, for writes",
            "  --json               JSON output, and errors as {\"error\":{\"code\",\"exit\",\"message\"}}",
            "  --lock-timeout S     seconds to wait for a lock held elsewhere; else $LOGBOOK_LOCK_TIMEOUT, else 10",
            "  --                   the arguments after it are not options",
            "",
            "limits: keys 1 to 4096 bytes, values up to 16 MiB, transactions up to 64 MiB",
            "",
            "exit codes: 0 ok, 1 not found, 2 usage or invalid argument, 3 conflict or failed check,",
            "            4 lock time-out, 5 corruption, 6 I/O error or failed store",
            "",
            "see Docs/CLI.md for details",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The usage of one command.
    static func text(for command: any Command.Type) -> String {
        "usage: logbook [global options] \(command.name) \(command.synopsis)".trailingSpacesRemoved + "\n"
            + "  \(command.summary)\n"
            + command.details.map { "\($0)\n" }.joined()
            + "run `logbook help` for the global options and exit codes\n"
    }
}

extension String {
    fileprivate var trailingSpacesRemoved: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
