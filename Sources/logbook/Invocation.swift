import Logbook

/// A parsed command line: the global options (resolved against the environment), the command,
/// and its options and positional arguments as bytes.
struct Invocation {
    /// The store directory: `--store`, else `$LOGBOOK_DIR`, else `./.logbook`.
    var storePath: String
    var durability: Durability
    var json: Bool
    /// Seconds to wait for a lock another process holds: `--lock-timeout`, else `$LOGBOOK_LOCK_TIMEOUT`, else 10.
    var lockTimeout: Double
    var command: any Command.Type
    /// Value options given, by name (`--prefix`); the last occurrence wins.
    var options: [String: [UInt8]] = [:]
    /// Every value given for each value option, in order (`--label a --label b`).
    var repeatedOptions: [String: [[UInt8]]] = [:]
    /// Boolean options given (`--reverse`).
    var flags: Set<String> = []
    var positionals: [[UInt8]] = []

    func option(_ name: String) -> [UInt8]? { options[name] }

    /// Every value given for `name`, in order; empty when none.
    func values(_ name: String) -> [[UInt8]] { repeatedOptions[name] ?? [] }

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// When the CLI's writes compact. Every run but `get` opens the store and replays the log
    /// since the last compaction (3.7 ms per MiB), so the CLI compacts once the log holds 256 KiB
    /// instead of the library's 16 MiB, and more than a sixteenth of the snapshot instead of all
    /// of it: a run then replays 128 KiB on average on a small store (0.5 ms; it was 512 KiB,
    /// 2 ms, with a 1 MiB threshold), and under 4 MB on a store of 64 MB instead of up to 64, for
    /// a compaction (which rewrites the store: about 10 ms for 2 MB) every 256 KiB of writes.
    static let autoCompactLogBytes: UInt64 = 256 << 10
    static let autoCompactSnapshotDivisor: UInt64 = 16

    private func storeOptions(create: Bool) -> StoreOptions {
        StoreOptions(
            durability: durability, lockTimeout: lockTimeout, createIfMissing: create,
            programName: "logbook \(command.name)", autoCompactLogBytes: Self.autoCompactLogBytes,
            autoCompactSnapshotDivisor: Self.autoCompactSnapshotDivisor)
    }

    /// Opens the store, creating it when missing (write commands).
    func openStore() throws -> Store {
        try Store(path: storePath, options: storeOptions(create: true))
    }

    /// The values of `keys`, in order, read straight from the store's files without opening a
    /// handle (see `Store.getMany(_:at:options:)`); nil when there is no store.
    func readMany(_ keys: [[UInt8]]) throws -> [[UInt8]?]? {
        do {
            return try Store.getMany(keys, at: storePath, options: storeOptions(create: false))
        } catch let error as LogbookError where error.code == .notFound {
            return nil
        }
    }

    /// Opens the store if it exists; nil when it does not (read commands never create it).
    func openExistingStore() throws -> Store? {
        do {
            return try Store(path: storePath, options: storeOptions(create: false))
        } catch let error as LogbookError where error.code == .notFound {
            return nil
        }
    }
}
