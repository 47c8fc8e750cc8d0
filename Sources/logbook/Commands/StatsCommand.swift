import Logbook

/// `logbook stats`: keys, live bytes, log and snapshot bytes, generation, last compaction, cache
/// figures, durability mode. Missing store: exit 1.
enum StatsCommand: Command {
    static let name = "stats"
    static let synopsis = ""
    static let summary = "keys, bytes, log and snapshot sizes, generation, cache figures"
    static let positionals = 0...0

    static func run(_ invocation: Invocation, _ output: Output) throws {
        guard let store = try invocation.openExistingStore() else {
            throw CLIError.notFound("no store at \(invocation.storePath)")
        }
        defer { store.close() }
        let stats = try store.stats()
        if invocation.json {
            var line = JSONLine()
            line.raw("{")
            line.field("path", string: stats.path)
            line.field("durability", string: stats.durability.rawValue)
            line.field("keys", number: stats.keys)
            line.field("live_bytes", number: stats.liveBytes)
            line.field("log_bytes", number: Int(stats.logBytes))
            line.field("snapshot_bytes", number: Int(stats.snapshotBytes))
            line.field("generation", number: Int(stats.generation))
            line.field("snapshot", number: Int(stats.snapshot))
            line.field("last_sequence", number: Int(stats.lastSequence))
            line.key("cache")
            line.raw("{")
            line.field("bytes", number: stats.cacheBytes)
            line.field("hits", number: Int(stats.cacheHits))
            line.field("misses", number: Int(stats.cacheMisses))
            line.field("evictions", number: Int(stats.cacheEvictions))
            line.raw("}")
            line.raw("}\n")
            try output.write(line.bytes)
        } else {
            try output.write(
                """
                path          \(stats.path)
                durability    \(stats.durability.rawValue)
                keys          \(stats.keys)
                live bytes    \(stats.liveBytes)
                log bytes     \(stats.logBytes)
                snapshot      \(stats.snapshot == 0 ? "none" : "snapshot-\(stats.snapshot) (\(stats.snapshotBytes) bytes)")
                generation    \(stats.generation)
                last sequence \(stats.lastSequence)
                cache         \(stats.cacheBytes) bytes, \(stats.cacheHits) hits, \(stats.cacheMisses) misses, \(stats.cacheEvictions) evictions

                """)
        }
    }
}
