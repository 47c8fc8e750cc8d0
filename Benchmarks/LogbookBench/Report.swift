#if canImport(Glibc)
    import Glibc
#endif

/// Everything one run of the bench produced, printed as a table and written as JSON.
struct Report {
    var machine: Machine
    var options: BenchOptions
    var floors: [Floor: Double]
    var results: [Measurement]
    var goals: [Goal]
    var seconds: Double

    /// The table: each figure beside its floor, the ratio, the goal and whether it is met.
    func table() -> String {
        let sizes = options.sizes
        var lines: [String] = []
        lines.append(
            "logbook-bench  commit \(machine.commit.prefix(12))  \(machine.date)\(options.quick ? "  (quick)" : "")"
        )
        lines.append(
            "machine: \(machine.cores) cores, \(machine.cpu), \(machine.filesystem) (\(options.directory))")
        lines.append(
            "N=\(sizes.n), fill_sync \(sizes.syncPuts) puts, \(sizes.perWriter) commits per thread/process; "
                + "median of \(options.runs) run\(options.runs == 1 ? "" : "s"); took \(Format.decimal(seconds)) s"
        )
        let floorText = Floor.allCases.compactMap { floor in
            floors[floor].map { "\(floor.rawValue) \(Format.count($0)) ops/s" }
        }
        lines.append("floors: " + (floorText.isEmpty ? "none measured" : floorText.joined(separator: " · ")))
        #if DEBUG
            lines.append("WARNING: debug build; these figures mean nothing. Build with -c release.")
        #endif
        lines.append("")

        var rows: [[String]] = [["workload", "figure", "floor", "ratio", "goal", "met?"]]
        for m in results {
            let goal = goals.first { $0.workload == m.workload }
            var floorText = ""
            var ratioText = ""
            if let floor = m.floor, let base = floors[floor] {
                floorText = "\(floor.rawValue) \(Format.count(base))"
                if let figure = m.figure { ratioText = "\(Format.fixed(figure / base, 2))x" }
            }
            let met = goal.map { $0.met.map { $0 ? "yes" : "NO" } ?? "n/a" } ?? ""
            rows.append([m.workload, Format.figure(m), floorText, ratioText, goal?.text ?? "", met])
            var extra = [m.details]
            if m.figure != nil, let note = m.note { extra.append(note) }
            if let note = goal?.note, note != m.note { extra.append("goal: \(note)") }
            let detail = extra.filter { !$0.isEmpty }.joined(separator: "; ")
            if !detail.isEmpty { rows.append(["", "  " + detail, "", "", "", ""]) }
        }
        var widths = [Int](repeating: 0, count: 6)
        for row in rows where !row[0].isEmpty {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        for row in rows {
            if row[0].isEmpty {
                lines.append(String(repeating: " ", count: widths[0] + 2) + row[1].dropFirst(2))
                continue
            }
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : Format.pad(cell, widths[i])
            }
            var line = cells.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        let met = goals.filter { $0.met == true }.count
        let missed = goals.filter { $0.met == false }.map(\.workload)
        let open = goals.filter { $0.met == nil }.map(\.workload)
        lines.append("")
        lines.append(
            "goals: \(met) of \(goals.count) met"
                + (missed.isEmpty ? "" : "; not met: \(missed.joined(separator: ", "))")
                + (open.isEmpty ? "" : "; not checked here: \(open.joined(separator: ", "))"))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The JSON file of WORKLOADS.md, one result per line.
    func json() -> String {
        let sizes = options.sizes
        var out = "{\"commit\": \(Format.quoted(machine.commit)), \"date\": \(Format.quoted(machine.date)),\n"
        out +=
            " \"machine\": {\"cores\": \(machine.cores), \"cpu\": \(Format.quoted(machine.cpu)), "
            + "\"fs\": \(Format.quoted(machine.filesystem))},\n"
        out +=
            " \"config\": {\"program\": \"logbook\", \"n\": \(sizes.n), \"sync_puts\": \(sizes.syncPuts), "
            + "\"commits_per_writer\": \(sizes.perWriter), \"runs\": \(options.runs), \"quick\": \(options.quick), "
            + "\"seconds\": \(Format.json(seconds))},\n"
        out +=
            " \"floors\": {"
            + Floor.allCases.map { "\(Format.quoted($0.jsonKey)): \(Format.json(floors[$0]))" }.joined(
                separator: ", ")
            + "},\n"
        let results = results.map { m in
            var fields = ["\"workload\": \(Format.quoted(m.workload))"]
            fields += m.fields.map { "\(Format.quoted($0.name)): \(Format.json($0.value))" }
            if let note = m.note { fields.append("\"note\": \(Format.quoted(note))") }
            return "   {" + fields.joined(separator: ", ") + "}"
        }
        out += " \"results\": [\n" + results.joined(separator: ",\n") + "],\n"
        let goals = goals.map { g in
            var fields = [
                "\"workload\": \(Format.quoted(g.workload))", "\"goal\": \(Format.quoted(g.text))",
                "\"value\": \(Format.json(g.value))",
                "\"met\": \(g.met.map { $0 ? "true" : "false" } ?? "null")",
            ]
            if let note = g.note { fields.append("\"note\": \(Format.quoted(note))") }
            return "   {" + fields.joined(separator: ", ") + "}"
        }
        out += " \"goals\": [\n" + goals.joined(separator: ",\n") + "]}\n"
        return out
    }

    /// Writes `text` to `path`, or stops the bench.
    static func write(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fail("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var text = text
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { fail("cannot write \(path): \(String(cString: strerror(errno)))") }
                done += n
            }
        }
    }
}
