import Logbook
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A child commits and compacts in a loop; the parent kills it with SIGKILL at random moments,
/// many of them inside a compaction. The store must open with every acknowledged commit and no
/// partial transaction, verify, leave no temporary file behind once reopened, and compact again.
@Suite("Crash: SIGKILL during compaction", .serialized)
struct CompactionKillTests {
    @Test func killedWhileCompacting() throws {
        let directory = try TemporaryDirectory()
        var insideCompaction = 0
        let (next, seed) = try killRepeatedly("compact-loop", directory, iterations: 30) { child, context in
            if child.lines.last == "compacting" { insideCompaction += 1 }
            // The check's open removed what the dead compaction left; a compaction succeeds.
            let names = try listDirectory(directory.store)
            #expect(!names.contains { $0.hasSuffix(".tmp") }, "\(context): leftovers \(names)")
            let store = try Store(path: directory.store, options: StoreOptions(autoCompactLogBytes: nil))
            try store.compact()
            store.close()
            let after = try listDirectory(directory.store)
            #expect(after.filter { $0.hasPrefix("snapshot-") }.count == 2, "\(context): \(after)")
            #expect(after.filter { $0.hasPrefix("log-") }.count == 1, "\(context): \(after)")
        }
        #expect(next > 1, "no commit acknowledged, \(seed)")
        #expect(insideCompaction > 0, "no kill landed inside a compaction, \(seed)")
        print("compaction kills: 30, \(insideCompaction) inside a compaction, \(next - 1) commits, \(seed)")
    }

    /// The same with automatic compactions (a 16 KiB threshold: one every 8 commits or so),
    /// started by the commits themselves, or run by the handle's compactor thread beside them.
    @Test(arguments: ["auto-compact-loop", "background-compact-loop"])
    func killedDuringAutomaticCompactions(mode: String) throws {
        let directory = try TemporaryDirectory()
        let (next, seed) = try killRepeatedly(mode, directory, iterations: 20)
        let store = try Store(path: directory.store, options: StoreOptions(autoCompactLogBytes: nil))
        let stats = try store.stats()
        store.close()
        #expect(next > 1, "no commit acknowledged, \(seed)")
        #expect(stats.snapshot > 0, "no automatic compaction finished, \(seed)")
        print("\(mode) kills: 20, \(next - 1) commits, snapshot \(stats.snapshot), \(seed)")
    }

    /// Runs the helper's `mode` (a commit loop) `iterations` times, each killed with SIGKILL
    /// after a random 2-60 ms, and checks the store after each death (`CrashTests.check`), then
    /// calls `afterEach` with the dead child and a context for messages. Returns the next
    /// commit number and the seed to replay.
    private func killRepeatedly(
        _ mode: String, _ directory: TemporaryDirectory, iterations: Int,
        afterEach: (ChildProcess, String) throws -> Void = { _, _ in }
    ) throws -> (next: Int, seed: String) {
        var random = SeededGenerator.fromEnvironment()
        let seed = "seed \(random.seed) (replay with LOGBOOK_CRASH_SEED=\(random.seed))"
        var next = 1
        for iteration in 1...iterations {
            let child = try ChildProcess([mode, directory.store, String(next)])
            try child.expectLine("ready")
            child.collect(for: Double.random(in: 0.002...0.060, using: &random))
            child.kill(SIGKILL)
            let termination = child.wait()
            let context = "iteration \(iteration), \(seed)"
            #expect(termination == .signaled(SIGKILL), "\(context): \(termination); \(child.stderrText)")
            guard termination == .signaled(SIGKILL) else { break }
            let acknowledged = child.lines.compactMap { Int($0) }
            let outcome = try CrashTests.check(
                directory.store, durability: .normal, acknowledged: acknowledged, context: context)
            guard let highest = outcome.highest else { break }
            next = highest + 1
            try afterEach(child, context)
        }
        return (next, seed)
    }

    private func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw LogbookError(.io, "opendir \(path)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
