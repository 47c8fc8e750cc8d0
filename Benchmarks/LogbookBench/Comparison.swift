import LogbookJSON

/// `--compare A.json B.json`: result files side by side (Logbook first, a peer second), with how
/// many times better Logbook's figure is, and the goal that needs a peer (scan_all).
///
/// Each side may be a comma-separated list of files, one per round: `run.sh` runs the two
/// programs in alternating rounds so that a slow spell of a shared disk hits both, and each
/// figure here is then the median over a side's rounds.
struct Comparison {
    var first: [JSONValue]
    var second: [JSONValue]
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

    static func load(_ firstPaths: String, _ secondPaths: String) -> Comparison {
        func read(_ paths: String) -> [JSONValue] {
            paths.split(separator: ",").map { part in
                let path = String(part)
                let text = readText(path)
                guard !text.isEmpty else { fail("cannot read \(path)") }
                guard let value = JSONValue.parse(text) else { fail("\(path) is not valid JSON") }
                return value
            }
        }
        let first = read(firstPaths)
        let second = read(secondPaths)
        guard !first.isEmpty, !second.isEmpty else { fail("--compare needs a file on each side") }
        func name(_ value: JSONValue, _ fallback: String) -> String {
            switch value["config"]?["program"]?.string {
            case "logbook": return "Logbook"
            case "sqlite": return "SQLite"
            case let other?: return other
            case nil: return fallback
            }
        }
        return Comparison(
            first: first, second: second, firstName: name(first[0], "first"),
            secondName: name(second[0], "second"))
    }

    /// The median of `field` of `workload` over `documents` (nil when none has it).
    private func figure(_ documents: [JSONValue], _ workload: String, _ field: String) -> Double? {
        let values = documents.compactMap { document in
            document["results"]?.array.first { $0["workload"]?.string == workload }?[field]?.number
        }
        return values.isEmpty ? nil : median(values)
    }

    func table() -> String {
        var rows: [[String]] = [
            [
                "workload", "metric", firstName, secondName,
                "\(firstName) vs \(secondName) (>1: \(firstName) better)",
            ]
        ]
        var scanRatio: Double?
        var workloads: [String] = []
        for document in first {
            for entry in document["results"]?.array ?? [] {
                if let workload = entry["workload"]?.string, !workloads.contains(workload) {
                    workloads.append(workload)
                }
            }
        }
        for workload in workloads {
            for metric in Self.metrics where workload.hasPrefix(metric.prefix) {
                let a = figure(first, workload, metric.field)
                let b = figure(second, workload, metric.field)
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
        func describe(_ documents: [JSONValue], _ name: String) -> String {
            let config = documents[0]["config"]
            var text = name
            if let version = config?["sqlite_version"]?.string { text += " \(version)" }
            if let commit = documents[0]["commit"]?.string, commit != "unknown" {
                text += " (commit \(commit.prefix(12)))"
            }
            let dates = documents.compactMap { $0["date"]?.string }.sorted()
            if let firstDate = dates.first, let lastDate = dates.last {
                text += firstDate == lastDate ? ", \(firstDate)" : ", \(firstDate) to \(lastDate)"
            }
            if let n = config?["n"]?.number {
                let rounds = documents.reduce(0) { $0 + Int($1["config"]?["runs"]?.number ?? 1) }
                text += ", N=\(Int(n)), median of \(rounds) round\(rounds == 1 ? "" : "s")"
            }
            return text
        }
        var header = [describe(first, firstName), describe(second, secondName)]
        let sizes = Set((first + second).map { $0["config"]?["n"]?.number ?? -1 })
        if sizes.count > 1 {
            header.append("warning: the runs used different sizes; ratios are not comparable")
        }
        lines.insert(contentsOf: header + [""], at: 0)
        lines.append("")
        if let scanRatio {
            lines.append(
                "goal scan_all >= 1.5x \(secondName): \(Format.fixed(scanRatio, 2))x, \(scanRatio >= 1.5 ? "met" : "NOT met")"
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
