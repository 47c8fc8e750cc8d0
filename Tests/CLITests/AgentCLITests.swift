import Logbook
import LogbookAgents
import Testing

/// The value of a top-level field of a one-line JSON object written by `logbook --json`
/// (strings without escapes, numbers, null, booleans): enough for these tests.
func jsonField(_ line: String, _ name: String) -> String? {
    let needle = Array("\"\(name)\":".utf8)
    let bytes = Array(line.utf8)
    guard
        let start = (0...max(0, bytes.count - needle.count)).first(where: {
            Array(bytes[$0..<min(bytes.count, $0 + needle.count)]) == needle
        })
    else { return nil }
    let rest = Substring(String(decoding: bytes[(start + needle.count)...], as: UTF8.self))
    if rest.hasPrefix("\"") {
        let body = rest.dropFirst()
        return body.firstIndex(of: "\"").map { String(body[..<$0]) }
    }
    if rest.hasPrefix("[") { return rest.firstIndex(of: "]").map { String(rest[...$0]) } }
    return String(rest.prefix { $0 != "," && $0 != "}" })
}

extension Fixture {
    /// Everything the board stored, as `logbook scan` prints it: to check nothing changed.
    var boardDump: [UInt8] { run("scan", "--prefix", "ag/").stdout }
}

@Suite struct AgentTaskCLITests {
    @Test func createShowListAndTheJSONShape() {
        withFixture { f in
            let created = f.run(
                "task", "create", "Write the parser", "--priority", "1", "--label", "core", "--label", "api")
            #expect(created.status == 0)
            #expect(created.stderr == [])
            let id = String(created.out.dropLast())
            #expect(created.out.hasSuffix("\n"))
            #expect(RecordID.isValid(id, kind: .task))
            let json = f.json(
                "task", "create", "Write tests", "--depends-on", id, "--description", "all of them")
            #expect(json.status == 0)
            let line = json.out
            #expect(line.hasPrefix("{\"id\":\"T-"))
            #expect(line.hasSuffix("}\n"))
            #expect(line.split(separator: "\n").count == 1)
            #expect(
                line.contains(
                    ",\"title\":\"Write tests\",\"status\":\"open\",\"priority\":2,\"assignee\":null,"))
            #expect(jsonField(line, "depends_on") == "[\"\(id)\"]")
            #expect(jsonField(line, "description") == "all of them")
            #expect(jsonField(line, "created_by") == "cli")
            #expect(jsonField(line, "revision") == "1")
            let second = jsonField(line, "id")!

            let shown = f.json("task", "show", id)
            #expect(shown.status == 0)
            #expect(jsonField(shown.out, "labels") == "[\"api\",\"core\"]")
            #expect(jsonField(shown.out, "blocks") == "[\"\(second)\"]")
            #expect(jsonField(shown.out, "ready") == "true")
            #expect(jsonField(f.json("task", "show", second).out, "ready") == "false")

            let list = f.json("task", "list")
            #expect(list.status == 0)
            let lines = list.out.split(separator: "\n").map(String.init)
            #expect(lines.map { jsonField($0, "id")! } == [id, second])  // priority 1 before 2
            #expect(f.json("task", "list", "--limit", "1").out.split(separator: "\n").count == 1)
            #expect(
                f.json("task", "list", "--label", "api").out.split(separator: "\n").map {
                    jsonField(String($0), "id")!
                } == [id])
            #expect(
                f.json("task", "list", "--blocked").out.split(separator: "\n").map {
                    jsonField(String($0), "id")!
                } == [second])
            #expect(
                f.json("task", "ready").out.split(separator: "\n").map { jsonField(String($0), "id")! } == [
                    id
                ])
            #expect(f.json("task", "list", "--ready").out == f.json("task", "ready").out)

            let table = f.run("task", "list", "--status", "open")
            #expect(table.status == 0)
            let rows = table.out.split(separator: "\n")
            #expect(rows.count == 3)
            #expect(rows[0].hasPrefix("ID                          P  STATUS       ASSIGNEE        TITLE"))
            #expect(rows[1].hasPrefix("\(id)  1  open         -               Write the parser"))
            let text = f.run("task", "show", id)
            #expect(text.out.contains("title:       Write the parser\n"))
            #expect(text.out.contains("status:      open (ready)\n"))
            #expect(text.out.contains("blocks:      \(second)\n"))
        }
    }

    @Test func anAgentsLoopThroughTheCLI() {
        withFixture { f in
            let a = String(f.run("task", "create", "A", "--priority", "0").out.dropLast())
            let b = String(f.run("task", "create", "B", "--depends-on", a).out.dropLast())
            // claim prints the id; the next agent gets nothing (b waits for a).
            let claim = f.run("task", "claim", "--next", "--agent", "w1")
            #expect(claim.status == 0)
            #expect(claim.out == "\(a)\n")
            let none = f.json("task", "claim", "--next", "--agent", "w2")
            #expect(none.status == 1)
            #expect(none.stdout == [])
            #expect(
                none.err
                    == "{\"error\":{\"code\":\"notFound\",\"exit\":1,\"message\":\"nothing ready to claim in \(f.store)\"}}\n"
            )
            // Another agent cannot claim or complete it.
            let lost = f.run("task", "claim", a, "--agent", "w2")
            #expect(lost.status == 3)
            #expect(lost.err.hasPrefix("logbook: claim lost: task \(a) is held by w1 (lease until "))
            let stolen = f.run("task", "complete", a, "--agent", "w2")
            #expect(stolen.status == 3)
            #expect(stolen.err.hasPrefix("logbook: task \(a) is held by w1, not w2"))
            // w1 logs a decision, completes, and b becomes ready.
            let decision = f.run(
                "decision", "log", "Parse with recursive descent", "--rationale", "small grammar",
                "--alternative", "PEG", "--affects", b, "--agent", "w1")
            #expect(decision.status == 0)
            let did = String(decision.out.dropLast())
            #expect(RecordID.isValid(did, kind: .decision))
            let done = f.json("task", "complete", a, "--agent", "w1", "--retrospective", "quick")
            #expect(done.status == 0)
            #expect(jsonField(done.out, "status") == "done")
            #expect(jsonField(done.out, "retrospective") == "quick")
            #expect(jsonField(done.out, "assignee") == "w1")
            #expect(f.run("task", "ready").out.contains(b))
            // w1 hands b to w2, who accepts (and so holds b), and completes the hand-off.
            let handoff = f.run(
                "handoff", "initiate", "Please do B", "--to", "w2", "--task", b, "--agent", "w1")
            #expect(handoff.status == 0)
            let hid = String(handoff.out.dropLast())
            #expect(f.run("handoff", "accept", hid, "--agent", "w3").status == 3)
            let accepted = f.json("handoff", "accept", hid, "--agent", "w2")
            #expect(accepted.status == 0)
            #expect(jsonField(accepted.out, "status") == "accepted")
            #expect(jsonField(accepted.out, "from") == "w1")
            #expect(jsonField(f.json("task", "show", b).out, "assignee") == "w2")
            #expect(f.run("handoff", "complete", hid, "--result", "B done", "--agent", "w2").status == 0)
            let shownHandoff = f.json("handoff", "show", hid)
            #expect(jsonField(shownHandoff.out, "status") == "completed")
            #expect(jsonField(shownHandoff.out, "result") == "B done")
            #expect(f.json("handoff", "list", "--to", "w2").out.split(separator: "\n").count == 1)
            #expect(f.json("handoff", "list", "--status", "initiated").out == "")
            // why b: the decision.
            let why = f.json("decision", "why", b)
            #expect(why.status == 0)
            #expect(jsonField(why.out, "id") == did)
            #expect(jsonField(why.out, "alternatives") == "[\"PEG\"]")
            #expect(f.run("decision", "show", did).out.contains("rationale: small grammar\n"))
            // History of a: created, claimed, completed, by whom.
            let history = f.json("task", "history", a).out.split(separator: "\n").map(String.init)
            #expect(history.map { jsonField($0, "action")! } == ["created", "claimed", "completed"])
            #expect(history.map { jsonField($0, "by")! } == ["cli", "w1", "w1"])
            #expect(history.map { jsonField($0, "revision")! } == ["1", "2", "3"])
            let verify = f.run("task", "verify")
            #expect(verify.status == 0)
            #expect(verify.out == "ok: 2 tasks, 1 decisions, 1 hand-offs, 13 index entries and edges\n")
            #expect(
                f.json("task", "verify").out
                    == "{\"ok\":true,\"tasks\":2,\"decisions\":1,\"handoffs\":1,\"derived_entries\":13,\"problems\":[]}\n"
            )
            // The text forms: tables with a header, and the details of one.
            let pad = { (text: String, width: Int) in text + String(repeating: " ", count: width - text.count) }
            #expect(
                f.run("handoff", "list").out
                    == pad("ID", 26) + "  " + pad("STATUS", 9) + "  " + pad("FROM", 12) + "  " + pad("TO", 12)
                    + "  TASK\n" + hid + "  completed  " + pad("w1", 12) + "  " + pad("w2", 12) + "  " + b + "\n")
            let handoffText = f.run("handoff", "show", hid).out
            for line in [
                "id:        \(hid)", "status:    completed", "from:      w1", "to:        w2", "task:      \(b)",
            ] {
                #expect(handoffText.hasPrefix(line + "\n") || handoffText.contains("\n" + line + "\n"), "\(line)")
            }
            #expect(handoffText.contains("\nPlease do B\n\nresult: B done\n\n1  "))
            #expect(handoffText.hasSuffix("  w2  completed  status: accepted -> completed; result: - -> B done\n"))
            let table =
                pad("ID", 26) + "  " + pad("BY", 14) + "  DECISION\n" + did + "  " + pad("w1", 14)
                + "  Parse with recursive descent\n"
            #expect(f.run("decision", "list").out == table)
            #expect(f.run("decision", "why", b).out == table)
        }
    }

    @Test func updateBlockDependsReleaseDelete() {
        withFixture { f in
            let a = String(f.run("task", "create", "A").out.dropLast())
            let b = String(f.run("task", "create", "B").out.dropLast())
            let updated = f.json(
                "task", "update", a, "--title", "A2", "--priority", "high", "--add-label", "x",
                "--note", "first note", "--assignee", "w1")
            #expect(updated.status == 0)
            #expect(
                updated.out.contains(
                    "\"title\":\"A2\",\"status\":\"open\",\"priority\":1,\"assignee\":\"w1\",\"labels\":[\"x\"]"
                ))
            #expect(updated.out.contains("\"notes\":[{\"at\":\""))
            #expect(updated.out.contains("\"by\":\"cli\",\"text\":\"first note\"}]}"))
            let text = f.run("task", "update", a, "--unassign", "--remove-label", "x")
            #expect(text.status == 0)
            #expect(text.out == "\(a) open A2\n")
            #expect(f.run("task", "depends", b, a).out == "\(b) open B\n")
            #expect(f.run("task", "depends", a, b).status == 3)  // a cycle
            #expect(f.run("task", "block", a, "--reason", "waiting for review").status == 0)
            #expect(jsonField(f.json("task", "show", a).out, "blocked_reason") == "waiting for review")
            #expect(f.run("task", "start", a).status == 0)
            #expect(jsonField(f.json("task", "show", a).out, "status") == "in_progress")
            #expect(f.run("task", "release", a).out == "\(a) open A2\n")
            #expect(f.run("task", "release", a).status == 3)  // not claimed
            #expect(f.run("task", "depends", b, a, "--remove").status == 0)
            let deleted = f.json("task", "delete", a)
            #expect(deleted.out == "{\"id\":\"\(a)\",\"deleted\":true}\n")
            #expect(f.run("task", "show", a).status == 1)
            #expect(
                f.run("task", "history", a).out.split(separator: "\n").last?.contains("  deleted  ") == true)
            #expect(f.run("task", "verify").status == 0)
        }
    }

    @Test func badInputExitsTwoAndChangesNothing() {
        withFixture { f in
            // Bad input on a missing store does not create it.
            #expect(f.run("task", "create", "").status == 2)
            #expect(f.run("task", "list", "--limit", "-1").status == 2)
            #expect(f.run("task", "list", "--status", "closed").status == 2)
            #expect(f.run("decision", "log", "").status == 2)
            #expect(f.run("handoff", "initiate", "do it", "--to", "cli").status == 2)
            #expect(!TemporaryDirectory.exists(f.store))
            // Reads never create it either.
            #expect(f.run("task", "list").status == 0)
            #expect(f.run("task", "show", "T-20251226-112725-6e0cec19").status == 1)
            let claim = f.run("task", "claim", "--next", "--agent", "a")
            #expect(claim.status == 1)
            #expect(claim.err == "logbook: nothing ready to claim: no store at \(f.store)\n")
            #expect(!TemporaryDirectory.exists(f.store))

            let id = String(f.run("task", "create", "T").out.dropLast())
            let before = f.boardDump
            let cases: [([String], Int32, String)] = [
                (
                    ["task", "create", "T", "--priority", "9"], 2,
                    "logbook: priority must be 0 to 4 (0 most urgent) or critical, high, medium, low, backlog; not \"9\"\n"
                ),
                (["task", "create", "T", "--label", ""], 2, "logbook: label is empty\n"),
                (
                    ["task", "create", "T", "--depends-on", "nope"], 2,
                    "logbook: \"nope\" is not a task id (expected T-YYYYMMDD-HHMMSS-xxxxxxxx)\n"
                ),
                (
                    ["task", "create", "T", "--depends-on", "T-20251226-112725-00000000"], 1,
                    "logbook: task T-20251226-112725-00000000 not found (named as a dependency)\n"
                ),
                (
                    ["task", "show", "T-20251226-112725-00000000"], 1,
                    "logbook: task T-20251226-112725-00000000 not found\n"
                ),
                (
                    ["task", "show", "D-20251226-112725-00000000"], 2,
                    "logbook: \"D-20251226-112725-00000000\" is not a task id (expected T-YYYYMMDD-HHMMSS-xxxxxxxx)\n"
                ),
                (
                    ["task", "frobnicate"], 2,
                    "logbook: unknown subcommand 'frobnicate' of `logbook task`; expected one of create, show, list, ready, update, start, complete, block, depends, delete, history, claim, release, verify\n"
                ),
                (
                    ["task", "show", id, "--title", "x"], 2,
                    "logbook: unknown option --title for `logbook task show`\n"
                ),
                (["task", "show"], 2, "logbook: missing arguments; usage: logbook task show ID\n"),
                (["task", "show", id, id], 2, "logbook: too many arguments; usage: logbook task show ID\n"),
                (
                    ["task", "update", id], 2,
                    "logbook: nothing to update; give at least one of the options (logbook help task)\n"
                ),
                (
                    ["task", "update", id, "--assignee", "a", "--unassign"], 2,
                    "logbook: give at most one of --assignee and --unassign\n"
                ),
                (["task", "update", id, "--status", "done"], 0, ""),
                (
                    ["task", "update", id, "--status", "in_progress"], 3,
                    "logbook: task \(id) is done; it cannot become in_progress\n"
                ),
                (["task", "complete", id], 3, "logbook: task \(id) is done; it cannot become done\n"),
                (["task", "block", id], 2, "logbook: task block needs --reason TEXT\n"),
                (
                    ["task", "claim", "--agent", "a"], 2,
                    "logbook: task claim needs exactly one of ID and --next\n"
                ),
                (
                    ["task", "claim", id, "--next", "--agent", "a"], 2,
                    "logbook: task claim needs exactly one of ID and --next\n"
                ),
                (["task", "claim", "--next"], 2, "logbook: task claim needs --agent NAME\n"),
                (
                    ["task", "claim", "--next", "--agent", "a", "--lease", "soon"], 2,
                    "logbook: --lease must be a number of seconds, not \"soon\"\n"
                ),
                (
                    ["task", "claim", "--next", "--agent", "a", "--lease", "0"], 2,
                    "logbook: lease must be more than 0 and at most 31622400 seconds, got 0.0\n"
                ),
                (["task", "claim", id, "--agent", "a"], 3, "logbook: cannot claim task \(id): it is done\n"),
                (
                    ["task", "list", "--sort", "name"], 2,
                    "logbook: unknown sort \"name\" (expected priority, created or updated)\n"
                ),
                (["decision", "log", " "], 2, "logbook: decision text is empty\n"),
                (
                    ["decision", "why", "T-20251226-112725-00000000"], 1,
                    "logbook: task T-20251226-112725-00000000 not found\n"
                ),
                (["handoff", "initiate", "x"], 2, "logbook: handoff initiate needs --to AGENT\n"),
                (
                    ["handoff", "initiate", "x", "--to", "cli"], 2,
                    "logbook: a hand-off needs two different agents, got cli twice\n"
                ),
                (
                    ["handoff", "accept", "H-20251226-112725-00000000"], 1,
                    "logbook: hand-off H-20251226-112725-00000000 not found\n"
                ),
                (
                    ["handoff", "list", "--status", "done"], 2,
                    "logbook: unknown hand-off status \"done\" (expected initiated, accepted, completed or rejected)\n"
                ),
            ]
            var after = before
            for (arguments, status, message) in cases {
                let result = CLI.run(["--store", f.store] + arguments)
                #expect(result.status == status, "\(arguments)")
                #expect(result.err == message, "\(arguments)")
                if status != 0 {
                    #expect(result.stdout == [], "\(arguments)")
                    #expect(f.boardDump == after, "\(arguments) changed the store")
                } else {
                    after = f.boardDump
                }
            }
            #expect(after != before)  // the one valid update did change it
            let json = f.json("task", "complete", id)
            #expect(json.status == 3)
            #expect(
                json.err
                    == "{\"error\":{\"code\":\"conflict\",\"exit\":3,\"message\":\"task \(id) is done; it cannot become done\"}}\n"
            )
        }
    }

    @Test func helpListsTheSubcommands() {
        let help = CLI.run(["help", "task"])
        #expect(help.status == 0)
        #expect(
            help.out.hasPrefix("usage: logbook [global options] task SUBCOMMAND ... (logbook help task)\n"))
        #expect(help.out.contains("\n  task claim (ID | --next) --agent NAME [--lease SECONDS]\n"))
        #expect(help.out.contains("\n  task verify\n"))
        #expect(
            CLI.run(["handoff", "--help"]).out.contains(
                "\n  handoff initiate INSTRUCTIONS --to AGENT [--from AGENT] [--task ID]\n"))
        #expect(CLI.run(["help"]).out.contains("\n  decision SUBCOMMAND ... (logbook help decision)\n"))
    }
}
