import Logbook
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A child commits transactions in a loop and reports each acknowledged one; the parent kills it
/// with SIGKILL at a random moment, reopens the store and checks the promises of DESIGN.md:
/// every acknowledged commit is there, no transaction is partly visible, the commits present are
/// a prefix of the history (no hole), and every checksum holds (a torn tail is allowed).
@Suite("Crash: SIGKILL at random moments", .serialized)
struct CrashTests {
    /// Kills per durability mode: 25, or `LOGBOOK_CRASH_KILLS` for a longer hunt.
    static let kills = getenv("LOGBOOK_CRASH_KILLS").flatMap { Int(String(cString: $0)) } ?? 25

    @Test("commit loop killed at random moments loses nothing acknowledged", arguments: Durability.allCases)
    func killedCommitLoop(durability: Durability) throws {
        let directory = try TemporaryDirectory()
        var random = SeededGenerator.fromEnvironment()
        let seed = "seed \(random.seed) (replay with LOGBOOK_CRASH_SEED=\(random.seed))"
        var next = 1  // the first i of the next child: every i before it is committed
        var acknowledgedTotal = 0
        var tornTails = 0
        for iteration in 1...Self.kills {
            let child = try ChildProcess(["commit-loop", directory.store, durability.rawValue, String(next)])
            // Most kills land while commits run; every fifth (the first included, when the store
            // is created) lands early, during start-up or open.
            let early = iteration % 5 == 1
            if early {
                child.collect(for: Double.random(in: 0...0.010, using: &random))
            } else {
                try child.expectLine("ready")
                child.collect(for: Double.random(in: 0...0.030, using: &random))
            }
            child.kill(SIGKILL)
            let termination = child.wait()
            let context = "\(durability) iteration \(iteration), \(seed)"
            #expect(
                termination == .signaled(SIGKILL), "\(context): \(child) \(termination); \(child.stderrText)")
            guard termination == .signaled(SIGKILL) else { return }

            let reported = child.lines.filter { $0 != "ready" }
            let acknowledged = reported.compactMap { Int($0) }
            #expect(
                acknowledged == Array(next..<(next + acknowledged.count))
                    && acknowledged.count == reported.count,
                "\(context): the child reported \(reported.prefix(5))... starting at \(next)")

            let outcome = try Self.check(
                directory.store, durability: durability, acknowledged: acknowledged, context: context)
            guard let highest = outcome.highest else { return }
            #expect(
                highest >= next - 1,
                "\(context): commits up to \(next - 1) were present before this run, now \(highest)")
            acknowledgedTotal += acknowledged.count
            if outcome.tornTail { tornTails += 1 }
            next = highest + 1
        }
        // The run must have done real work: acknowledged commits on disk after the kills.
        #expect(
            acknowledgedTotal > 0, "\(durability): no commit was acknowledged in \(Self.kills) runs, \(seed)")
        print(
            "crash \(durability): \(Self.kills) kills, \(acknowledgedTotal) commits acknowledged, \(next - 1) on disk, "
                + "\(tornTails) torn tails seen, \(seed)")
    }

    @Test("a child killed while it creates the store leaves a store that opens")
    func killedWhileCreating() throws {
        var random = SeededGenerator.fromEnvironment()
        var outcomes: [String: Int] = [:]
        for attempt in 1...15 {
            let directory = try TemporaryDirectory()
            let child = try ChildProcess(["commit-loop", directory.store, "normal", "1"])
            child.collect(for: Double.random(in: 0...0.008, using: &random))
            child.kill(SIGKILL)
            let termination = child.wait()
            #expect(termination == .signaled(SIGKILL), "\(child) \(termination): \(child.stderrText)")
            let state =
                TemporaryDirectory.size(of: directory.log) != nil
                ? "log"
                : TemporaryDirectory.size(of: directory.log + ".tmp") != nil
                    ? "temporary log only"
                    : TemporaryDirectory.size(of: directory.store) != nil ? "no log" : "no directory"
            outcomes[state, default: 0] += 1
            let acknowledged = child.lines.compactMap { Int($0) }
            let context = "attempt \(attempt) (\(state)), seed \(random.seed)"
            _ = try Self.check(
                directory.store, durability: .normal, acknowledged: acknowledged, context: context)
        }
        print("killed while creating: \(outcomes.sorted { $0.key < $1.key }), seed \(random.seed)")
    }

    /// Opens the store in this process and checks it against what the child acknowledged.
    /// Returns the highest transaction present (nil after a failed check) and whether verify
    /// reported a torn tail.
    static func check(_ path: String, durability: Durability, acknowledged: [Int], context: String) throws
        -> (highest: Int?, tornTail: Bool)
    {
        let store = try Store(path: path, options: StoreOptions(durability: durability))
        defer { store.close() }
        let (present, last) = try store.read { view -> ([String: [Int: String]], String?) in
            var present: [String: [Int: String]] = [:]
            for prefix in ["a/", "b/", "c/"] {
                var entries: [Int: String] = [:]
                for pair in try view.scan(ScanOptions(prefix: Array(prefix.utf8))) {
                    let suffix = String(decoding: pair.key.dropFirst(2), as: UTF8.self)
                    entries[Int(suffix) ?? -1] = String(decoding: pair.value, as: UTF8.self)
                }
                present[prefix] = entries
            }
            return (present, try view.string("last"))
        }
        let a = present["a/"]!
        let highest = a.keys.max() ?? 0
        var problems: [String] = []
        for (prefix, entries) in present.sorted(by: { $0.key < $1.key }) {
            if let wrong = entries.first(where: { String($0.key) != $0.value }) {
                problems.append("\(prefix)\(wrong.key) = \(wrong.value)")
            }
            let keys = Set(entries.keys)
            if keys != Set(a.keys) {
                let partial = keys.symmetricDifference(a.keys).sorted()
                problems.append("partial transactions, a/ and \(prefix) differ at \(partial.prefix(5))")
            }
            if keys != Set(highest > 0 ? Array(1...highest) : []) {
                let holes = Set(1...max(highest, 1)).subtracting(keys).sorted()
                problems.append("\(prefix) is not a prefix 1...\(highest): missing \(holes.prefix(5))")
            }
        }
        if last != (highest > 0 ? String(highest) : nil) {
            problems.append("last = \(last ?? "absent") with \(highest) transactions present")
        }
        if let lost = acknowledged.first(where: { $0 > highest }) {
            problems.append("acknowledged commit \(lost) is lost (highest present: \(highest))")
        }
        let report = try store.verify()
        // Every transaction is one record: in the log, or folded into the snapshot by compaction.
        let folded = try store.stats().lastCompactedSequence
        if UInt64(report.records) + folded != UInt64(highest) {
            problems.append(
                "verify counted \(report.records) records after snapshot sequence \(folded) for \(highest) transactions"
            )
        }
        let sequence = try store.stats().lastSequence
        if sequence != UInt64(highest) {
            problems.append("last sequence \(sequence) for \(highest) transactions")
        }
        #expect(problems.isEmpty, "\(context): \(problems.joined(separator: "; "))")
        return (problems.isEmpty ? highest : nil, report.tornTail != nil)
    }
}
