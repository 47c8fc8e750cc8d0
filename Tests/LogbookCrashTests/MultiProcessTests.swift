import Logbook
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Many processes increment one counter through `write { }` at once; optimistic transactions
/// validated under the cross-process lock must make every increment count (no lost update).
@Suite("Multi-process: concurrent increments", .serialized)
struct MultiProcessTests {
    @Test("processes incrementing one counter at once lose no increment", arguments: [8, 16])
    func concurrentIncrements(processes: Int) throws {
        let directory = try TemporaryDirectory()
        let each = 50
        let children = try (0..<processes).map { _ in
            try ChildProcess(["incr", directory.store, String(each)])
        }
        for child in children {
            let termination = child.wait(timeout: 120)
            #expect(termination == .exited(0), "\(child) \(termination): \(child.stderrText)")
            #expect(child.lines == ["done"], "\(child) wrote \(child.lines)")
        }
        let store = try Store(path: directory.store)
        #expect(try store.string("counter") == String(processes * each))
        // One record per increment, nothing else, and every checksum holds.
        let report = try store.verify()
        #expect(report.records == processes * each)
        #expect(report.tornTail == nil)
    }
}

extension MultiProcessTests {
    /// Also in `relaxed` mode, where each writer copies its records into its own mapping of the
    /// log, with automatic compactions every 16 KiB of log: a victim killed in the middle of its
    /// copy leaves a torn tail another cuts, and the seals move every writer to a new segment.
    @Test(
        "writers killed mid-commit never block or corrupt the others' increments",
        arguments: [Durability.normal, .relaxed])
    func killsAmongConcurrentWriters(durability: Durability) throws {
        let directory = try TemporaryDirectory()
        var random = SeededGenerator.fromEnvironment()
        let stopFile = directory.path + "/stop"
        let mode = durability == .relaxed ? ["relaxed"] : []
        let survivors = try (0..<2).map { _ in try ChildProcess(["incr-until", directory.store, stopFile] + mode) }
        for survivor in survivors {
            // Both survivors are committing before the first victim starts.
            guard let first = survivor.nextLine(timeout: 30), Int(first) != nil else {
                Issue.record("\(survivor) reported no increment: \(survivor.stderrText)")
                return
            }
        }
        var victims: [ChildProcess] = []
        for _ in 0..<12 {
            let victim = try ChildProcess(["incr-report", directory.store, "1000000"] + mode)
            // Kill it at a random moment once it is committing.
            guard let first = victim.nextLine(timeout: 30), Int(first) != nil else {
                Issue.record("\(victim) reported no increment: \(victim.stderrText)")
                return
            }
            victim.collect(for: Double.random(in: 0...0.015, using: &random))
            victim.kill(SIGKILL)
            #expect(victim.wait() == .signaled(SIGKILL), "\(victim): \(victim.stderrText)")
            for survivor in survivors { survivor.readAvailable() }
            victims.append(victim)
        }
        let survivorsAtEnd = survivors.map { $0.lines.count }
        close(open(stopFile, O_CREAT | O_WRONLY, 0o644))  // the survivors finish their loops
        var acknowledged: [Int] = []
        for survivor in survivors {
            let termination = survivor.wait(timeout: 120)
            #expect(termination == .exited(0), "\(survivor) \(termination): \(survivor.stderrText)")
            #expect(survivor.lines.last == "done", "\(survivor): \(survivor.lines.suffix(3))")
            acknowledged += survivor.lines.compactMap { Int($0) }
        }
        for victim in victims { acknowledged += victim.lines.compactMap { Int($0) } }
        print(
            "kills among \(durability) writers: victims acknowledged \(victims.map { $0.lines.count }) increments; survivors "
                + "had acknowledged \(survivorsAtEnd) when the last victim died, seed \(random.seed)")

        let store = try Store(path: directory.store)
        let counter = try #require(try store.string("counter").flatMap { Int($0) })
        // Every acknowledged increment produced its own value (no lost update), and each is in
        // the store; a killed writer may have committed one increment it never reported.
        #expect(
            Set(acknowledged).count == acknowledged.count,
            "two commits reported the same value, seed \(random.seed)")
        #expect(acknowledged.allSatisfy { 1...counter ~= $0 }, "counter \(counter), seed \(random.seed)")
        #expect(
            counter - acknowledged.count >= 0 && counter - acknowledged.count <= victims.count,
            "counter \(counter) with \(acknowledged.count) increments acknowledged, seed \(random.seed)")
        // One commit per increment, nothing else; every checksum holds (in `relaxed` mode the
        // compactions folded the older records into the snapshot).
        let report = try store.verify()
        #expect(try store.stats().lastSequence == UInt64(counter), "seed \(random.seed)")
        if durability == .normal { #expect(report.records == counter) }
    }
}
