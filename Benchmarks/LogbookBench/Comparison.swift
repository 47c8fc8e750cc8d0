/// `--compare A.json B.json`: two result files side by side (Logbook first, a peer second), with
/// how many times better Logbook's figure is, and the goal that needs a peer (scan_all).
struct Comparison {
    var first: JSONValue
    var second: JSONValue
    var firstName: String
    var secondName: String

    /// The field each workload is compared on, and whether higher is better.
    static let metrics: [(prefix: String, field: String, unit: String, higherIsBetter: Bool)] = [
        ("fill_nosync", "ops_per_s", "ops/s", true), ("fill_batch", "ops_per_s", "ops/s", true),
        ("fill_sync", "ops_per_s", "ops/s", true), ("read_hot", "ops_per_s", "ops/s", true),
        ("read_miss", "ops_per_s", "ops/s", true), ("scan_all", "ops_per_s", "keys/s", true),
        ("concurrent_sync", "ops_per_s", "commits/s", true),
        ("multiprocess_sync", "ops_per_s", "commits/s", true),
        ("reopen", "ms", "ms", false), ("recover", "ms", "ms", false), ("compact", "seconds", "s", false),
        ("disk_bytes", "ratio_raw", "x raw", false),
        ("disk_bytes", "ratio_raw_compacted", "x raw, compacted", false),
        ("rss", "mib", "MiB", false),
    ]

    static func load(_ firstPath: String, _ secondPath: String) -> Comparison {
        func read(_ path: String) -> JSONValue {
            let text = readText(path)
            guard !text.isEmpty else { fail("cannot read \(path)") }
            guard let value = JSONValue.parse(text) else { fail("\(path) is not valid JSON") }
            return value
        }
        let first = read(firstPath)
        let second = read(secondPath)
        func name(_ value: JSONValue, _ fallback: String) -> String {
            switch value["config"]?["program"]?.string {
            case "logbook": return "Logbook"
            case "sqlite": return "SQLite"
            case let other?: return other
            case nil: return fallback
            }
        }
        return Comparison(
            first: first, second: second, firstName: name(first, "first"), secondName: name(second, "second"))
    }

    private func result(_ document: JSONValue, _ workload: String) -> JSONValue? {
        document["results"]?.array.first { $0["workload"]?.string == workload }
    }

    func table() -> String {
        var rows: [[String]] = [
            [
                "workload", "metric", firstName, secondName,
                "\(firstName) vs \(secondName) (>1: \(firstName) better)",
            ]
        ]
        var scanRatio: Double?
        for entry in first["results"]?.array ?? [] {
            guard let workload = entry["workload"]?.string else { continue }
            for metric in Self.metrics where workload.hasPrefix(metric.prefix) {
                let a = entry[metric.field]?.number
                let b = result(second, workload)?[metric.field]?.number
                var ratio: Double?
                if let a, let b, a > 0, b > 0 { ratio = metric.higherIsBetter ? a / b : b / a }
                if workload == "scan_all" { scanRatio = ratio }
                func show(_ x: Double?) -> String {
                    guard let x else { return "n/a" }
                    return metric.higherIsBetter ? Format.count(x) : Format.decimal(x)
                }
                rows.append([
                    workload, metric.unit, show(a), show(b), ratio.map { Format.fixed($0, 2) + "x" } ?? "n/a",
                ])
            }
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var lines = rows.map { row in
            row.enumerated().map { i, cell in
                i == 0 || i == 1
                    ? Format.pad(cell, widths[i])
                    : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ")
        }
        func describe(_ document: JSONValue, _ name: String) -> String {
            let config = document["config"]
            var text = name
            if let version = config?["sqlite_version"]?.string { text += " \(version)" }
            if let commit = document["commit"]?.string, commit != "unknown" {
                text += " (commit \(commit.prefix(12)))"
            }
            text += ", \(document["date"]?.string ?? "?")"
            if let n = config?["n"]?.number, let runs = config?["runs"]?.number {
                text += ", N=\(Int(n)), median of \(Int(runs))"
            }
            return text
        }
        lines.insert(describe(first, firstName), at: 0)
        lines.insert(describe(second, secondName), at: 1)
        if first["config"]?["n"]?.number != second["config"]?["n"]?.number {
            lines.insert("warning: the two runs used different sizes; ratios are not comparable", at: 2)
        }
        lines.insert("", at: lines.count > 2 && lines[2].hasPrefix("warning") ? 3 : 2)
        lines.append("")
        if let scanRatio {
            lines.append(
                "goal scan_all >= 1.5x \(secondName): \(Format.fixed(scanRatio, 2))x, \(scanRatio >= 1.5 ? "met" : "NOT met")"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
