// Simulated power loss at every operation boundary of a workload of transactions and two
// compactions, in each durability mode (see Support/PowerLossFileLayer.swift for the fault
// model). At each boundary several crash states are built (only what was synced; everything;
// names without their data; data without their names; random prefixes with torn and zero-filled
// last writes) and a store is opened on each with the real file layer. It must open, pass
// `verify` (offline and through the handle), hold exactly the state after some commit, never a
// hole or a wrong value: in `normal` and `paranoid` at least every acknowledged commit, in
// `relaxed` a prefix, holding at least every commit a finished compaction folded in unless the
// store directory itself vanished (relaxed never syncs its parent); then accept a commit.
//
// LOGBOOK_POWERLOSS_STATES (random states per boundary, default 3) and LOGBOOK_POWERLOSS_SEED
// make longer hunts: Scripts/crash-hunt.sh.

import Glibc
@_spi(Testing) import LogbookTestSupport
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct PowerLossTests {
    static let randomStates = environment("LOGBOOK_POWERLOSS_STATES") ?? 3
    static let seed = UInt64(environment("LOGBOOK_POWERLOSS_SEED") ?? 1)
    /// Random workloads in `powerLossDuringRandomWorkloads`: 1, or LOGBOOK_POWERLOSS_WORKLOADS.
    static let randomWorkloads = environment("LOGBOOK_POWERLOSS_WORKLOADS") ?? 1

    static func environment(_ name: String) -> Int? { getenv(name).flatMap { Int(String(cString: $0)) } }

    enum Step {
        case put(String, String)
        case delete(String)
        case transaction([(String, String?)])
        case compact
    }

    /// Commits of one, two and three keys, deletes, a value larger than a snapshot block, and
    /// two compactions (the second deletes the first's snapshot and segments).
    static let steps: [Step] = [
        .put("a", "1"),
        .transaction([("b", "2"), ("c", "3")]),
        .put("d", String(repeating: "d", count: 200)),
        .delete("a"),
        .put("b", "22"),
        .transaction([("e", "5"), ("c", nil), ("f", String(repeating: "f", count: 5000))]),
        .compact,
        .put("g", "7"),
        .transaction([("a", "again"), ("d", nil)]),
        .compact,
        .put("h", "8"),
        .transaction([("b", nil), ("i", "9")]),
        .put("c", "33"),
    ]

    /// What the workload did, counted in recorded operations.
    struct Run {
        /// `states[i]`: everything after commit i (sequence i); `states[0]` is empty.
        var states: [[KeyValue]] = [[]]
        /// Operations recorded before commit i + 1 started, and when it returned.
        var begun: [Int] = []
        var acknowledged: [Int] = []
        /// When each compaction returned, and the sequence it folded in.
        var compacted: [(operations: Int, sequence: Int)] = []
        var model = ReferenceModel()

        /// Commits that may have reached the disk by boundary `k`.
        func started(by k: Int) -> Int { begun.filter { $0 < k }.count }
        func acknowledged(by k: Int) -> Int { acknowledged.filter { $0 <= k }.count }
        func compactedSequence(by k: Int) -> Int {
            compacted.filter { $0.operations <= k }.map(\.sequence).max() ?? 0
        }

        /// Runs `step` on `store`, recording when it started and returned.
        mutating func perform(_ step: Step, on store: Store, _ layer: PowerLossFileLayer) throws {
            if case .compact = step {
                let report = try store.compact()
                compacted.append((layer.operationCount, Int(report.sequence)))
                return
            }
            begun.append(layer.operationCount)
            switch step {
            case .put(let key, let value):
                try store.put(key, value)
                model.put(b(key), b(value))
            case .delete(let key):
                #expect(try store.delete(key))
                model.delete(b(key))
            case .transaction(let writes):
                try store.write { tx in
                    for (key, value) in writes {
                        if let value { try tx.put(key, value) } else { try tx.delete(key) }
                    }
                }
                for (key, value) in writes { model.apply(b(key), value.map(b)) }
            case .compact:
                break
            }
            acknowledged.append(layer.operationCount)
            states.append(model.all)
        }
    }

    static func policies(at boundary: Int) -> [SimulatedDisk.Policy] {
        [.syncedOnly, .everything, .namesWithoutData, .dataWithoutNames]
            + (0..<randomStates).map { .random(seed &* 1_000_003 &+ UInt64(boundary * 7919 + $0)) }
    }

    @Test(arguments: Durability.allCases)
    func powerLossAtEveryOperationBoundary(_ durability: Durability) throws {
        try withTemporaryDirectory("powerloss", inMemory: true) { dir in
            let live = dir.path + "/live"
            Disk.makeDirectory(live)
            let layer = PowerLossFileLayer(root: live)
            let options = StoreOptions(durability: durability, autoCompactLogBytes: nil)
            let store = try Store(path: live + "/store", options: options.with(layer))
            var run = Run()
            for step in Self.steps { try run.perform(step, on: store, layer) }
            store.close()
            layer.freeze()
            #expect(run.states.count == 12)
            #expect(layer.operationCount > 60, "the workload was recorded")
            Self.sweep(layer, run, durability: durability, scratch: dir.path + "/crash")
        }
    }

    /// A random workload (seeded): puts of 1 byte to 6 KiB, deletes, transactions of up to five
    /// writes, explicit compactions, and automatic ones (the threshold is 3 KB of log), in a
    /// random durability mode; power loss at every boundary as above.
    @Test func powerLossDuringRandomWorkloads() throws {
        for workload in 0..<Self.randomWorkloads {
            var random = SeededRandom(seed: Self.seed &* 7_777_777 &+ UInt64(workload))
            let durability = Durability.allCases[Int.random(in: 0..<3, using: &random)]
            var keys: [String] = []
            var steps: [Step] = []
            for _ in 0..<24 {
                let roll = Int.random(in: 0..<20, using: &random)
                let key = "k\(Int.random(in: 0..<30, using: &random))"
                let value = String(
                    repeating: "v", count: [1, 40, 300, 6000][Int.random(in: 0..<4, using: &random)])
                if roll < 2 {
                    steps.append(.compact)
                } else if roll < 5, let victim = keys.randomElement(using: &random) {
                    steps.append(.delete(victim))
                    keys.removeAll { $0 == victim }
                } else if roll < 9 {
                    var writes: [(String, String?)] = []
                    for i in 0..<Int.random(in: 2...5, using: &random) {
                        let k = "t\(Int.random(in: 0..<10, using: &random))-\(i)"
                        writes.append((k, Bool.random(using: &random) ? value : nil))
                    }
                    steps.append(.transaction(writes))
                    for (k, v) in writes {
                        if v == nil {
                            keys.removeAll { $0 == k }
                        } else if !keys.contains(k) {
                            keys.append(k)
                        }
                    }
                } else {
                    steps.append(.put(key, value))
                    if !keys.contains(key) { keys.append(key) }
                }
            }
            try withTemporaryDirectory("powerlossrandom", inMemory: true) { dir in
                let live = dir.path + "/live"
                Disk.makeDirectory(live)
                let layer = PowerLossFileLayer(root: live)
                let options = StoreOptions(durability: durability, autoCompactLogBytes: 3000)
                let store = try Store(path: live + "/store", options: options.with(layer))
                var run = Run()
                for step in steps {
                    if case .transaction(let writes) = step,
                        writes.allSatisfy({ $0.1 == nil && run.model[b($0.0)] == nil })
                    {
                        continue  // deletes only of absent keys: nothing to commit
                    }
                    try run.perform(step, on: store, layer)
                }
                store.close()
                layer.freeze()
                Self.sweep(layer, run, durability: durability, scratch: dir.path + "/crash")
            }
        }
    }

    /// A process dies at each disk change of a compaction (DyingFileLayer over the power-loss
    /// layer) while another process, unharmed, goes on committing; then the power fails. The
    /// dead compaction may have renamed a MANIFEST without syncing the directory: the survivor
    /// must make it durable before it appends to a segment only that MANIFEST names.
    @Test func powerLossAfterAProcessDiedMidCompaction() throws {
        var death = 1
        while true {
            var finished = false
            try withTemporaryDirectory("deathpower", inMemory: true) { dir in
                let live = dir.path + "/live"
                Disk.makeDirectory(live)
                let layer = PowerLossFileLayer(root: live)
                let options = StoreOptions(durability: .normal, autoCompactLogBytes: nil)
                let survivor = try Store(path: live + "/store", options: options.with(layer))
                var run = Run()
                for step in Self.steps.prefix(6) { try run.perform(step, on: survivor, layer) }
                let dying = DyingFileLayer(changesBeforeDeath: death, base: layer)
                let doomed = try Store(path: live + "/store", options: options.with(dying))
                let start = layer.operationCount
                do {
                    let report = try doomed.compact()
                    run.compacted.append((layer.operationCount, Int(report.sequence)))
                    finished = !dying.isDead
                } catch {
                    #expect(dying.isDead, "died at change \(death): \(error)")
                }
                doomed.close()  // the kernel drops a dead process's locks
                for step in Self.steps[7...9] { try run.perform(step, on: survivor, layer) }
                survivor.close()
                layer.freeze()
                // Power cuts from the death on: what was only synced, and one random state.
                var failures = 0
                for boundary in start...layer.operationCount {
                    let (disk, page) = layer.disk(after: boundary)
                    for policy in [SimulatedDisk.Policy.syncedOnly, .random(Self.seed &+ UInt64(boundary))] {
                        let image = disk.crashImage(root: live, policy: policy, lockPage: page)
                        let context =
                            "died at change \(death), power cut after operation \(boundary) (\(layer.event(boundary - 1))), \(policy)"
                        if !Self.check(
                            image, in: dir.path + "/crash", durability: .normal,
                            allowed: run.acknowledged(by: boundary)...run.started(by: boundary), run: run,
                            compactAfter: false, context: context)
                        {
                            failures += 1
                        }
                        if failures >= 3 { return }
                    }
                }
            }
            if finished { break }
            death += 1
            #expect(death < 100)
            if death >= 100 { break }
        }
        #expect(death > 15, "the compaction made \(death) changes")
    }

    /// Recovery under power loss: the store starts with what an earlier crash left (a torn tail
    /// at the end of the active segment, a sealed segment whose MANIFEST never landed, temporary
    /// files of an unfinished compaction). Opening removes the leftovers, the first commit cuts
    /// the torn tail off, then commits and a compaction follow; a power cut at any boundary must
    /// keep the acknowledged commits and never bring the torn bytes back as data.
    @Test(arguments: Durability.allCases)
    func powerLossWhileRecoveringFromAnEarlierCrash(_ durability: Durability) throws {
        try withTemporaryDirectory("recovery", inMemory: true) { dir in
            let live = dir.path + "/live"
            let storePath = live + "/store"
            Disk.makeDirectory(live)
            var run = Run()
            do {
                let seeding = PowerLossFileLayer(root: live)
                let store = try Store(
                    path: storePath, options: StoreOptions(autoCompactLogBytes: nil).with(seeding))
                for step in Self.steps.prefix(7) { try run.perform(step, on: store, seeding) }
                try run.perform(.put("g", "7"), on: store, seeding)
                store.close()
            }
            // Everything so far is durable: the new layer imports it as it is.
            run.begun = run.begun.map { _ in -1 }
            run.acknowledged = run.acknowledged.map { _ in 0 }
            run.compacted = run.compacted.map { (0, $0.sequence) }
            let torn = LogFormat.encode(
                LogRecord(sequence: 8, mutations: [.put(key: b("torn"), value: b("never"))]))
            let log = storePath + "/log-2.wal"
            Disk.write(log, Disk.read(log) + torn.prefix(25))
            Disk.write(storePath + "/log-3.wal", LogFormat.segmentHeader(number: 3))
            Disk.write(storePath + "/MANIFEST.tmp", [1, 2, 3])
            Disk.write(storePath + "/snapshot-2.dat.tmp", [UInt8](repeating: 7, count: 100))

            let layer = PowerLossFileLayer(root: live)
            let store = try Store(
                path: storePath,
                options: StoreOptions(durability: durability, autoCompactLogBytes: nil).with(layer))
            #expect(try store.scan() == run.model.all)
            for step in Self.steps.suffix(5) { try run.perform(step, on: store, layer) }
            store.close()
            layer.freeze()
            #expect((0..<layer.operationCount).map(layer.event).contains("unlink log-3.wal"))
            #expect(
                (0..<layer.operationCount).map(layer.event).contains { $0.hasPrefix("truncate log-2.wal") })
            Self.sweep(layer, run, durability: durability, scratch: dir.path + "/crash")
        }
    }

    /// Where a compaction's sync fails, in the tests below.
    enum SyncFailure: CaseIterable, CustomStringConvertible {
        /// The fsync of the sealed segment.
        case sealedSegment
        /// The directory fsync after the MANIFEST that seals the segment was renamed into place.
        case sealingManifest
        /// The directory fsync after the new snapshot files were renamed into place.
        case snapshotRename
        /// The directory fsync after the MANIFEST that installs the snapshot was renamed.
        case installingManifest

        var description: String {
            switch self {
            case .sealedSegment: return "sealed segment fsync"
            case .sealingManifest: return "sealing MANIFEST directory fsync"
            case .snapshotRename: return "snapshot rename directory fsync"
            case .installingManifest: return "installing MANIFEST directory fsync"
            }
        }

        func arm(_ layer: PowerLossFileLayer) {
            switch self {
            case .sealedSegment: layer.fail(.sync, of: "log-1.wal")
            case .sealingManifest: layer.fail(.syncDirectory, of: "store", skip: 1)
            case .snapshotRename: layer.fail(.syncDirectory, of: "store", skip: 2)
            case .installingManifest: layer.fail(.syncDirectory, of: "store", skip: 3)
            }
        }

        /// The operation just before the failing call.
        var follows: String {
            switch self {
            // The seal cuts the zeros a writer allocated ahead off the segment, then syncs it.
            case .sealedSegment: return "truncate log-1.wal to "
            case .sealingManifest, .installingManifest: return "rename MANIFEST.tmp -> MANIFEST"
            case .snapshotRename: return "rename snapshot-1.idx.tmp -> snapshot-1.idx"
            }
        }

        /// Whether the handle must refuse writes afterwards.
        var failsStop: Bool { self != .snapshotRename }
    }

    /// A compaction whose fsync fails reports an error; after a failed sync of the log or of the
    /// directory a new MANIFEST was just renamed into, the handle refuses writes (the log's data,
    /// or the MANIFEST that makes a new segment part of the store, may not be durable), and the
    /// next writer syncs the directory before it appends. The application reopens the store and goes on committing and compacting: a power
    /// cut at any boundary, before or after the failure, must keep every acknowledged commit.
    @Test(arguments: SyncFailure.allCases, [Durability.normal, .paranoid])
    func powerLossAfterAFailedSyncDuringCompaction(_ failure: SyncFailure, _ durability: Durability) throws {
        try withTemporaryDirectory("syncfailure", inMemory: true) { dir in
            let live = dir.path + "/live"
            Disk.makeDirectory(live)
            let layer = PowerLossFileLayer(root: live)
            let options = StoreOptions(durability: durability, autoCompactLogBytes: nil).with(layer)
            var run = Run()
            let store = try Store(path: live + "/store", options: options)
            for step in Self.steps.prefix(6) { try run.perform(step, on: store, layer) }
            failure.arm(layer)
            let error = #expect(throws: LogbookError.self, "\(failure)") { try store.compact() }
            #expect(error?.errno == SystemError.eio, "\(failure): \(error?.message ?? "")")
            guard let fired = layer.fired.first else {
                Issue.record("\(failure): the fault did not fire")
                return
            }
            #expect(
                layer.event(fired.boundary - 1).contains(failure.follows),
                "\(failure): failed after \(layer.event(fired.boundary - 1))")
            if failure.failsStop {
                let refused = #expect(throws: LogbookError.self, "\(failure)") {
                    try store.put("x", "refused")
                }
                #expect(refused?.code == .storeFailed, "\(failure)")
            } else {
                try run.perform(.put("x", "accepted"), on: store, layer)
            }
            #expect(try store.scan() == run.model.all)
            store.close()
            // The application starts again (no power cut yet) and goes on: commits first (the
            // MANIFEST the failed compaction renamed must be made durable before they are), then
            // compactions and more commits.
            let reopened = try Store(path: live + "/store", options: options)
            #expect(try reopened.scan() == run.model.all)
            try run.perform(.put("y", "after the failure"), on: reopened, layer)
            for step in Self.steps.suffix(7) { try run.perform(step, on: reopened, layer) }
            reopened.close()
            layer.freeze()
            Self.sweep(layer, run, durability: durability, scratch: dir.path + "/crash")
        }
    }

    /// Checks every crash state of every boundary the layer recorded.
    static func sweep(_ layer: PowerLossFileLayer, _ run: Run, durability: Durability, scratch: String) {
        var failures = 0
        var checked = 0
        for boundary in 0...layer.operationCount {
            let (disk, page) = layer.disk(after: boundary)
            var seen = Set<SimulatedDisk.Image>()
            for (index, policy) in policies(at: boundary).enumerated() {
                let image = disk.crashImage(
                    root: layer.root, policy: policy, lockPage: index % 2 == 0 ? page : nil)
                guard seen.insert(image).inserted else { continue }
                let last = boundary == 0 ? "start" : layer.event(boundary - 1)
                let context =
                    "\(durability): power cut after operation \(boundary) (\(last)), \(policy); files \(image.summary)"
                // relaxed never syncs the store directory's entry in its parent: the whole store
                // may vanish (an empty prefix); if it is there, every commit a finished
                // compaction folded in is too (compaction syncs in every mode).
                let lower =
                    durability != .relaxed
                    ? run.acknowledged(by: boundary)
                    : image.directories.contains("store") ? run.compactedSequence(by: boundary) : 0
                let ok = check(
                    image, in: scratch, durability: durability, allowed: lower...run.started(by: boundary),
                    run: run,
                    compactAfter: index == 4, context: context)
                checked += 1
                if !ok {
                    failures += 1
                    if failures >= 5 { return }
                }
            }
        }
        #expect(checked > layer.operationCount * 2)
    }

    /// A `relaxed` store's first segment is created without a sync, so a power cut can leave
    /// `log-1.wal` named but empty, cut inside its header or zero-filled. No record can be in it:
    /// the store opens empty (and writes the segment again); offline verify reports the remains
    /// as a torn tail. A longer file with a bad header is corruption, not an unfinished creation.
    @Test(arguments: [0, 1, 20, 31, 32])
    func anUnfinishedFirstSegmentIsAnEmptyStore(_ length: Int) throws {
        try withTemporaryDirectory("firstlog") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            store.close()
            let header = LogFormat.segmentHeader(number: 1)
            for bytes in [Array(header.prefix(length)), [UInt8](repeating: 0, count: length)] {
                if bytes == header { continue }
                Disk.write(dir.log, bytes)
                let report = try Store.verify(path: dir.store)
                #expect(report.records == 0)
                #expect(report.tornTail?.offset == 0 && report.tornTail?.length == UInt64(length))
                let reopened = try Store(path: dir.store, options: relaxed())
                #expect(try reopened.scan() == [])
                #expect(Disk.read(dir.log) == header, "the segment was written again")
                try reopened.put("a", "1")
                reopened.close()
                #expect(try Store(path: dir.store, options: relaxed()).string("a") == "1")
            }
            var damaged =
                header
                + LogFormat.encode(LogRecord(sequence: 1, mutations: [.put(key: b("k"), value: b("v"))]))
            damaged[3] ^= 1
            Disk.write(dir.log, damaged)
            let error = #expect(throws: LogbookError.self) {
                _ = try Store(path: dir.store, options: relaxed())
            }
            #expect(error?.code == .corrupted && error?.path == dir.log && error?.offset == 0)
        }
    }

    /// Opens a store on `image` and checks it; false when a check failed (already recorded).
    static func check(
        _ image: SimulatedDisk.Image, in path: String, durability: Durability, allowed: ClosedRange<Int>,
        run: Run,
        compactAfter: Bool, context: String
    ) -> Bool {
        Disk.removeTree(path)
        image.materialize(at: path)
        defer { Disk.removeTree(path) }
        let storePath = path + "/store"
        do {
            if image.directories.contains("store") {
                // Offline, before anything repairs the files: passes, or finds no store at all
                // (cut before its first log segment was named).
                do { _ = try Store.verify(path: storePath) } catch let error as LogbookError
                    where error.code == .notFound
                {
                    guard image.files["store/log-1.wal"] == nil && image.files["store/MANIFEST"] == nil else {
                        throw error
                    }
                }
            }
            let options = StoreOptions(durability: durability, autoCompactLogBytes: nil)
            let store = try Store(path: storePath, options: options)
            defer { store.close() }
            let sequence = Int(try store.stats().lastSequence)
            guard allowed.contains(sequence) else {
                Issue.record("\(context): recovered sequence \(sequence), allowed \(allowed)")
                return false
            }
            let found = try store.scan()
            guard found == run.states[sequence] else {
                Issue.record("\(context): the state at sequence \(sequence) is wrong: \(found)")
                return false
            }
            _ = try store.verify()
            try store.put("after", "power loss")
            if compactAfter { try store.compact() }
            guard try store.string("after") == "power loss",
                try store.stats().lastSequence == UInt64(sequence + 1)
            else {
                Issue.record("\(context): the commit after recovery is not there")
                return false
            }
            _ = try store.verify()
            return true
        } catch {
            Issue.record("\(context): \(error)")
            return false
        }
    }
}
