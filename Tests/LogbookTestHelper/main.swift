// logbook-test-helper: the child process of the crash, multi-process and lock tests
// (Tests/LogbookCrashTests). Every line it reports on stdout is written with one write(2), after
// the event it reports happened, so a parent that reads a line knows the event is behind it.
//
//     logbook-test-helper commit-loop DIR MODE START   commit i = START, START+1, ... forever
//     logbook-test-helper compact-loop DIR START        commit-loop (normal) with a compaction every 8th commit
//     logbook-test-helper auto-compact-loop DIR START   the same with automatic compactions (16 KiB threshold)
//     logbook-test-helper background-compact-loop DIR START   the same, compactions on the handle's compactor thread
//     logbook-test-helper incr DIR N                    N read-modify-write increments of `counter`
//     logbook-test-helper incr-report DIR N [relaxed]   the same, reporting each new value (relaxed:
//                                                       in relaxed mode, compacting every 16 KiB of log)
//     logbook-test-helper incr-until DIR STOPFILE [relaxed]  incr-report until the file STOPFILE exists
//     logbook-test-helper hold-lock DIR SECONDS         hold the writer lock for SECONDS
//     logbook-test-helper die-mid-append DIR CUT        commit one transaction, SIGKILL self after
//                                                       CUT bytes of its log record are written
//     logbook-test-helper die-mid-append-embedding DIR CUT
//                                                       the same, with a value that holds the bytes
//                                                       of a valid log record (sequence 5)
//     logbook-test-helper big-loop DIR BYTES            commit BYTES-sized values forever (relaxed, no compaction)
//     logbook-test-helper die-in-sync DIR               commit `synced` (normal), then commit `unsynced` and
//                                                       SIGKILL self when that commit syncs the log
//     logbook-test-helper hang-in-sync DIR              the same, but report `syncing` when that commit is about
//                                                       to sync (holding the sync turn) and hang there until killed
//     logbook-test-helper wait-for-sync-turn DIR SECONDS  commit `after` (normal), waiting up to SECONDS for the
//                                                       sync turn: report `waiting` when it first finds the
//                                                       turn taken, then whether it `took the turn` or
//                                                       `synced alone`; then commit `again` and report
//                                                       `again: refused N times` (the turn's refusals)
//
// Exit status: 0 done, 2 bad arguments, 1 an engine error (message on stderr).

@_spi(Testing) import Logbook

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Writes `line` and a newline to stdout with one write(2): unbuffered, so it is in the pipe
/// before the next statement runs, and whole (a pipe write of at most PIPE_BUF bytes is atomic).
func report(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    let written = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
    if written != bytes.count { exit(3) }
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    let bytes = Array(("logbook-test-helper: " + message + "\n").utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    exit(status)
}

func usage() -> Never {
    fail(
        "usage: logbook-test-helper (commit-loop DIR MODE START | compact-loop DIR START | auto-compact-loop DIR START | background-compact-loop DIR START | incr DIR N | incr-report DIR N [relaxed] | incr-until DIR STOPFILE [relaxed] | hold-lock DIR SECONDS"
            + " | die-mid-append[-embedding] DIR CUT | big-loop DIR BYTES | (die|hang)-in-sync DIR | wait-for-sync-turn DIR SECONDS)",
        status: 2)
}

func sleep(seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

/// A file layer that kills its own process with SIGKILL in the middle of the first log write
/// after it is armed, once `cut` bytes of that write have reached the file: a crash mid-append,
/// at an exact byte.
final class DyingFileLayer: ForwardingFileLayer, @unchecked Sendable {  // one thread uses it
    let real = PosixFileLayer()
    var base: any FileLayer { real }
    let cut: Int
    var armed = false

    init(cut: Int) { self.cut = cut }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        guard armed else { return try real.write(fd, from: buffer, at: offset) }
        var done = 0
        while done < min(cut, buffer.count) {
            let part = UnsafeRawBufferPointer(rebasing: buffer[done..<min(cut, buffer.count)])
            done += try real.write(fd, from: part, at: offset + UInt64(done))
        }
        kill(getpid(), SIGKILL)
        while true { pause() }
    }

}

/// A file layer that kills its own process with SIGKILL at the first log sync after it is armed:
/// the record is written and the writer lock released (normal mode syncs without it), but
/// nothing made the record durable or published it.
final class DieInSyncFileLayer: ForwardingFileLayer, @unchecked Sendable {  // one thread uses it
    let real = PosixFileLayer()
    var base: any FileLayer { real }
    var armed = false
    /// Hang (until killed) instead of dying.
    var hang = false

    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        if armed {
            if hang { report("syncing") } else { kill(getpid(), SIGKILL) }
            while true { pause() }
        }
        try real.sync(fd, dataOnly: dataOnly)
    }
}

/// Passes every call on, and counts how often the sync turn (byte 2 of LOCK, Docs/Format.md)
/// was refused, reporting `waiting` the first time, and whether it was taken.
final class SyncTurnWatcher: ForwardingFileLayer, @unchecked Sendable {  // one thread uses it
    let real = PosixFileLayer()
    var base: any FileLayer { real }
    var refusals = 0
    var taken = false
    private var reported = false

    func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool {
        let got = try real.tryLock(fd, byte: byte)
        if byte == 2 {
            if got {
                taken = true
            } else {
                refusals += 1
                if !reported { report("waiting") }
                reported = true
            }
        }
        return got
    }
}

/// `wait-for-sync-turn`: see the usage at the top.
func waitForSyncTurn(directory: String, patience: Double) throws {
    let layer = SyncTurnWatcher()
    var options = StoreOptions(durability: .normal, lockTimeout: 120)
    options.fileLayer = layer
    options.syncTurnPatience = patience
    let store = try Store(path: directory, options: options)
    try store.put("after", "3")
    report(layer.refusals > 0 && layer.taken ? "took the turn" : "synced alone")
    (layer.refusals, layer.taken) = (0, false)
    try store.put("again", "4")
    report("again: refused \(layer.refusals) times")
}

/// `die-in-sync`: see the usage at the top. Reports "synced" once the first commit returned.
func dieInSync(directory: String, hang: Bool = false) throws {
    let layer = DieInSyncFileLayer()
    layer.hang = hang
    var options = StoreOptions(durability: .normal)
    options.fileLayer = layer
    let store = try Store(path: directory, options: options)
    try store.put("synced", "1")
    report("synced")
    layer.armed = true
    try store.put("unsynced", "2")
    fail("the armed sync returned")
}

/// `commit-loop`: transaction i puts `a/i`, `b/i`, `c/i` and `last`, all with value "i", then
/// reports "i" once `write` returned. Reports "ready" once the store is open.
func commitLoop(directory: String, durability: Durability, start: Int) throws {
    let store = try Store(path: directory, options: StoreOptions(durability: durability))
    report("ready")
    var i = start
    while true {
        let value = String(i)
        try store.write { tx in
            try tx.put("a/\(i)", value)
            try tx.put("b/\(i)", value)
            try tx.put("c/\(i)", value)
            try tx.put("last", value)
        }
        report(value)
        i += 1
    }
}

/// `compact-loop`: as `commit-loop` (durability normal), and after every 8th commit a compaction,
/// announced by "compacting" before and "compacted" after it. `auto-compact-loop` (`automatic`):
/// the same with the automatic compactions instead, at a 16 KiB threshold (one every 8 commits
/// or so); `background-compact-loop` (`background`): those on the handle's compactor thread.
func compactLoop(directory: String, start: Int, automatic: Bool = false, background: Bool = false) throws {
    let store = try Store(
        path: directory,
        options: StoreOptions(
            durability: .normal, autoCompactLogBytes: automatic ? 16 << 10 : nil, compactInBackground: background))
    report("ready")
    let padding = String(repeating: "x", count: 2000)
    var i = start
    while true {
        let value = String(i)
        try store.write { tx in
            try tx.put("a/\(i)", value)
            try tx.put("b/\(i)", value)
            try tx.put("c/\(i)", value)
            try tx.put("last", value)
            try tx.put("pad/\(i % 64)", padding)
        }
        report(value)
        if !automatic && i % 8 == 0 {
            report("compacting")
            try store.compact()
            report("compacted")
        }
        i += 1
    }
}

/// `incr`: `count` increments of the decimal counter `counter`, each its own transaction;
/// reports "done" at the end, and with `eachValue` every new value once its commit returned.
/// With `stopFile`, increments until that file exists instead. `relaxed`: in relaxed mode (the
/// log mapped), with automatic compactions every 16 KiB of log.
func increment(directory: String, count: Int, eachValue: Bool, stopFile: String? = nil, relaxed: Bool = false)
    throws
{
    var options = StoreOptions(lockTimeout: 60)
    if relaxed { (options.durability, options.autoCompactLogBytes) = (.relaxed, 16 << 10) }
    let store = try Store(path: directory, options: options)
    var done = 0
    while stopFile.map({ access($0, F_OK) != 0 }) ?? (done < count) {
        done += 1
        let value = try store.write { tx in
            let current = try tx.string("counter").map { Int($0)! } ?? 0
            try tx.put("counter", String(current + 1))
            return current + 1
        }
        if eachValue { report(String(value)) }
        // A loop that never pauses keeps the lock busy nearly all the time, and a newcomer's
        // polling (back-off up to 10 ms) can then wait seconds for a gap; leave it room.
        if stopFile != nil { sleep(seconds: 0.001) }
    }
    report("done")
}

/// `hold-lock`: reports "held" once the writer lock is taken and "releasing" just before it is
/// released (so a parent that got the lock after us has already seen "releasing").
func holdLock(directory: String, seconds: Double) throws {
    let store = try Store(path: directory)
    try store.withWriterLockHeld {
        report("held")
        sleep(seconds: seconds)
        report("releasing")
    }
    store.close()
    report("released")
}

/// A value that contains, byte for byte, a valid log record: `ghost` = `boo` with sequence 5.
/// Any value may look like this (a backup of a store, a file an agent keeps).
let embeddingValue =
    Array("embedded:".utf8)
    + LogFormat.encode(
        LogRecord(sequence: 5, mutations: [.put(key: Array("ghost".utf8), value: Array("boo".utf8))]))
    + Array("!".utf8)

/// `die-mid-append`: reports "ready", then commits `victim/1..3` (or, `embedding`, `victim/1` =
/// `embeddingValue`) and dies after `cut` bytes of the record. Never returns.
func dieMidAppend(directory: String, cut: Int, embedding: Bool = false) throws {
    let layer = DyingFileLayer(cut: cut)
    var options = StoreOptions(durability: .normal)
    options.fileLayer = layer
    let store = try Store(path: directory, options: options)
    report("ready")
    layer.armed = true
    try store.write { tx in
        if embedding {
            try tx.put("victim/1", embeddingValue)
        } else {
            for k in 1...3 { try tx.put("victim/\(k)", String(repeating: "v", count: 100 * k)) }
        }
    }
    fail("the armed write did not kill the process")
}

/// `big-loop`: commits `big/i` with a value of `bytes` bytes forever and reports "i" after each,
/// so a SIGKILL from outside is likely to land inside the write(2) of a record.
func bigLoop(directory: String, bytes: Int) throws {
    // No automatic compaction: the kills are meant to land in log writes, not in merges.
    let store = try Store(path: directory, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
    report("ready")
    let value = [UInt8](repeating: 0x5a, count: bytes)
    var i = 1
    while true {
        try store.put(Array("big/\(i)".utf8), value)
        report(String(i))
        i += 1
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
let expected =
    arguments.first == "commit-loop"
    ? [4]
    : ["die-in-sync", "hang-in-sync"].contains(arguments.first)
        ? [2]
        : ["incr-report", "incr-until"].contains(arguments.first) ? [3, 4] : [3]
guard expected.contains(arguments.count),
    arguments.count < 4 || arguments.first == "commit-loop" || arguments[3] == "relaxed"
else {
    usage()
}
let directory = arguments[1]
do {
    switch arguments[0] {
    case "commit-loop":
        guard let durability = Durability(rawValue: arguments[2]), let start = Int(arguments[3]) else {
            usage()
        }
        try commitLoop(directory: directory, durability: durability, start: start)
    case "compact-loop":
        guard let start = Int(arguments[2]) else { usage() }
        try compactLoop(directory: directory, start: start)
    case "auto-compact-loop":
        guard let start = Int(arguments[2]) else { usage() }
        try compactLoop(directory: directory, start: start, automatic: true)
    case "background-compact-loop":
        guard let start = Int(arguments[2]) else { usage() }
        try compactLoop(directory: directory, start: start, automatic: true, background: true)
    case "incr":
        guard let count = Int(arguments[2]) else { usage() }
        try increment(directory: directory, count: count, eachValue: false)
    case "incr-report":
        guard let count = Int(arguments[2]) else { usage() }
        try increment(directory: directory, count: count, eachValue: true, relaxed: arguments.count > 3)
    case "incr-until":
        try increment(
            directory: directory, count: 0, eachValue: true, stopFile: arguments[2], relaxed: arguments.count > 3)
    case "hold-lock":
        guard let seconds = Double(arguments[2]) else { usage() }
        try holdLock(directory: directory, seconds: seconds)
    case "die-mid-append":
        guard let cut = Int(arguments[2]), cut >= 0 else { usage() }
        try dieMidAppend(directory: directory, cut: cut)
    case "die-mid-append-embedding":
        guard let cut = Int(arguments[2]), cut >= 0 else { usage() }
        try dieMidAppend(directory: directory, cut: cut, embedding: true)
    case "die-in-sync":
        try dieInSync(directory: directory)
    case "hang-in-sync":
        try dieInSync(directory: directory, hang: true)
    case "wait-for-sync-turn":
        guard let seconds = Double(arguments[2]), seconds >= 0 else { usage() }
        try waitForSyncTurn(directory: directory, patience: seconds)
    case "big-loop":
        guard let bytes = Int(arguments[2]), bytes > 0 else { usage() }
        try bigLoop(directory: directory, bytes: bytes)
    default:
        usage()
    }
} catch {
    fail("\(arguments[0]) failed: \(error)")
}
