/// One workload's result: the figures of its JSON line, and how the table shows it.
struct Measurement {
    var workload: String
    /// The JSON fields after "workload", in order; nil is written as null (a figure that cannot
    /// be measured yet, never a made-up one).
    var fields: [(name: String, value: Double?)]
    /// The figure the table shows and compares with the floor.
    var figure: Double?
    /// Unit of `figure`, e.g. "ops/s".
    var unit: String
    /// Second line of detail in the table, e.g. "p50 6.1 µs, p99 12 µs".
    var details: String = ""
    /// The floor `figure` is divided by, if any.
    var floor: Floor? = nil
    /// Why a figure is missing, or what it does not include.
    var note: String? = nil

    func field(_ name: String) -> Double? { fields.first { $0.name == name }?.value ?? nil }

    /// The measurement with the median figure among runs of one workload.
    static func median(of runs: [Measurement]) -> Measurement {
        let sorted = runs.sorted { ($0.figure ?? 0) < ($1.figure ?? 0) }
        return sorted[(sorted.count - 1) / 2]
    }
}
