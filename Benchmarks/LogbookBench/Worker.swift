import Logbook

#if canImport(Glibc)
    import Glibc
#endif

/// The bench's hidden child mode (`logbook-bench --worker NAME --flag value ...`), for the
/// workloads that need real, separate processes. Workers generate their keys and values as they
/// go (same seeds as the parent) so that the rss figure holds the store, not the bench's inputs.
enum Worker {
    static func run(_ arguments: [String]) -> Never {
        guard let name = arguments.first else { fail("--worker needs a name") }
        var flags: [String: String] = [:]
        var i = 1
        while i + 1 < arguments.count {
            flags[arguments[i]] = arguments[i + 1]
            i += 2
        }
        func flag(_ key: String) -> String {
            guard let value = flags[key] else { fail("worker \(name): missing \(key)") }
            return value
        }
        func number(_ key: String) -> Int {
            guard let value = Int(flag(key)) else { fail("worker \(name): \(key) is not a number") }
            return value
        }
        switch name {
        case "fill-killed": fillKilled(directory: flag("--dir"), n: number("--n"))
        case "rss": rss(directory: flag("--dir"), n: number("--n"))
        case "put":
            put(
                directory: flag("--dir"), index: number("--index"), count: number("--count"),
                total: number("--total"))
        case "claim": claim(directory: flag("--dir"), index: number("--index"))
        default: fail("unknown worker \(name)")
        }
    }

    /// Opens a store with the default options but `durability` (and automatic compaction off
    /// when `autoCompact` is false), or stops the process.
    static func open(_ path: String, _ durability: Durability, autoCompact: Bool = true) -> Store {
        var options = StoreOptions(durability: durability)
        if !autoCompact { options.autoCompactLogBytes = nil }
        do { return try Store(path: path, options: options) } catch {
            fail("cannot open a store at \(path): \(error)")
        }
    }

    /// Fills `n` keys, relaxed, automatic compaction off (recover replays the whole log), then
    /// dies by SIGKILL without closing the store.
    static func fillKilled(directory: String, n: Int) -> Never {
        let store = open(directory, .relaxed, autoCompact: false)
        fill(store, n: n)
        kill(getpid(), SIGKILL)
        fail("still alive after SIGKILL")
    }

    /// fill_nosync + read_hot in this fresh process; prints peak and starting VmHWM in KiB.
    static func rss(directory: String, n: Int) -> Never {
        let baseline = peakResidentKiB()
        let store = open(directory, .relaxed)
        let dataset = fill(store, n: n)
        var random = SplitMix64(seed: Dataset.readSeed)
        var found = 0
        for _ in 0..<n
        where must("get", { try store.get(Dataset.key(Int(dataset.order[random.next(below: n)]))) }) != nil {
            found += 1
        }
        if found != n { fail("rss worker: \(n - found) keys not found") }
        let peak = peakResidentKiB()
        store.close()
        print("\(peak) \(baseline)")
        exit(0)
    }

    /// One of multiprocess_sync's writers: opens the store, reports ready on fd 4, waits for a
    /// byte on fd 3, commits `count` single puts (normal), reports its finish time and how many
    /// syncs it ran on fd 4.
    static func put(directory: String, index: Int, count: Int, total: Int) -> Never {
        let store = open(directory, .normal)
        let dataset = Dataset(count: total)
        var stream = ValueStream()
        var keys: [[UInt8]] = []
        var values: [[UInt8]] = []
        for i in 0..<total {
            let value = stream.next()
            if i / count == index {
                keys.append(dataset.key(at: i))
                values.append(value)
            }
        }
        Processes.writeWord(4, 0)
        var byte: UInt8 = 0
        while read(3, &byte, 1) < 0 && errno == EINTR {}
        for i in keys.indices { must("put") { try store.put(keys[i], values[i]) } }
        let finished = Clock.now()
        Processes.writeWords(4, [finished, must("stats") { try store.stats() }.syncs])
        store.close()
        exit(0)
    }

    /// Puts the `n` keys and values of the N-key workloads, generated one by one.
    @discardableResult
    static func fill(_ store: Store, n: Int) -> Dataset {
        let dataset = Dataset(count: n)
        var values = ValueStream()
        for i in 0..<n { must("put") { try store.put(dataset.key(at: i), values.next()) } }
        return dataset
    }

    /// VmHWM of /proc/self/status: the peak resident set of this process (ru_maxrss would also
    /// count the parent's memory, shared until exec after posix_spawn's vfork).
    static func peakResidentKiB() -> Int {
        for line in readText("/proc/self/status").split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.dropFirst("VmHWM:".count).filter { $0 >= "0" && $0 <= "9" }
            return Int(String(digits)) ?? 0
        }
        return 0
    }
}
