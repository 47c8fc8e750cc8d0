// Model-based random test: a seeded random history of puts, deletes, multi-key transactions
// (with reads, scans and rollbacks), compare-and-swaps, scans, compactions and reopens, run through two
// handles on one directory and checked against a dictionary after every step.

import Testing

@_spi(Testing) @testable import Logbook

/// Thrown from a transaction closure to roll it back.
struct RollBack: Error {}

@Suite struct ModelBasedTests {
    /// Four symbols chosen to sit at the edges of byte order, so prefixes and bounds collide often.
    static let alphabet: [UInt8] = [0x00, 0x61, 0x62, 0xFF]

    struct History {
        var random: SeededRandom
        let path: String
        var handles: [Store]
        var model = ReferenceModel()
        /// Records the log must hold: one per commit that wrote something.
        var commits = 0
        /// Commits folded into the snapshot by the last compaction.
        var compacted = 0
        var steps = 0

        init(seed: UInt64, path: String) throws {
            random = SeededRandom(seed: seed)
            self.path = path
            handles = [try Store(path: path, options: relaxed()), try Store(path: path, options: relaxed())]
        }

        mutating func key() -> [UInt8] {
            if Int.random(in: 0..<200, using: &random) == 0 {  // now and then a key of the largest size
                return [0x62] + (0..<(Limits.maxKeySize - 1)).map { _ in Self.symbol(&random) }
            }
            return (0..<Int.random(in: 1...4, using: &random)).map { _ in Self.symbol(&random) }
        }

        static func symbol(_ random: inout SeededRandom) -> UInt8 { alphabet.randomElement(using: &random)! }

        mutating func value() -> [UInt8] {
            let size = Int.random(in: 0..<50, using: &random) == 0 ? 3000 : Int.random(in: 0...12, using: &random)
            return random.bytes(size)
        }

        mutating func scanOptions() -> ScanOptions {
            func bound(_ random: inout SeededRandom) -> [UInt8]? {
                Bool.random(using: &random)
                    ? nil : (0..<Int.random(in: 1...3, using: &random)).map { _ in Self.symbol(&random) }
            }
            let prefix: [UInt8]? =
                Int.random(in: 0..<5, using: &random) < 2
                ? nil : (0..<Int.random(in: 0...2, using: &random)).map { _ in Self.symbol(&random) }
            let limit: Int? = Bool.random(using: &random) ? nil : Int.random(in: -1...12, using: &random)
            return ScanOptions(
                prefix: prefix, start: bound(&random), end: bound(&random), limit: limit,
                reverse: Bool.random(using: &random))
        }

        mutating func handle() -> Store { handles.randomElement(using: &random)! }

        // MARK: steps

        mutating func step() throws {
            steps += 1
            let roll = Int.random(in: 0..<100, using: &random)
            switch roll {
            case 0..<28: try put()
            case 28..<40: try delete()
            case 40..<58: try transaction()
            case 58..<70: try compareAndSwap()
            case 70..<82: try scan()
            case 82..<88: try readTransaction()
            case 88..<90: try reopen()
            case 90..<93: try compact()
            default: try put()
            }
            try checkState()
        }

        mutating func put() throws {
            let (key, value) = (key(), value())
            try handle().put(key, value)
            model.put(key, value)
            commits += 1
        }

        mutating func delete() throws {
            let key = Bool.random(using: &random) ? (model.keys.randomElement(using: &random) ?? key()) : key()
            let existed = try handle().delete(key)
            #expect(existed == (model[key] != nil), "step \(steps)")
            if existed { commits += 1 }
            model.delete(key)
        }

        mutating func compareAndSwap() throws {
            let key = Bool.random(using: &random) ? (model.keys.randomElement(using: &random) ?? key()) : key()
            let expected: [UInt8]?
            switch Int.random(in: 0..<3, using: &random) {
            case 0: expected = model[key]
            case 1: expected = nil
            default: expected = value()
            }
            let new: [UInt8]? = Int.random(in: 0..<4, using: &random) == 0 ? nil : value()
            let swapped = try handle().compareAndSwap(key, expected: expected, new: new)
            #expect(swapped == (model[key] == expected), "step \(steps)")
            if swapped {
                if new != nil || expected != nil { commits += 1 }
                model.apply(key, new)
            }
        }

        /// A multi-key transaction that reads, scans and writes, checking read-your-writes as it goes;
        /// one in eight throws at the end and must leave no trace.
        mutating func transaction() throws {
            var plan: [(kind: Int, key: [UInt8], value: [UInt8], scan: ScanOptions)] = []
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let key = Bool.random(using: &random) ? (model.keys.randomElement(using: &random) ?? key()) : key()
                plan.append((Int.random(in: 0..<4, using: &random), key, value(), scanOptions()))
            }
            let rollBack = Int.random(in: 0..<8, using: &random) == 0
            let model = self.model
            let step = steps
            var runs = 0
            var written: [[UInt8]: [UInt8]?] = [:]
            do {
                try handle().write { tx in
                    runs += 1
                    var pending: [[UInt8]: [UInt8]?] = [:]
                    var view = model
                    for action in plan {
                        switch action.kind {
                        case 0:
                            try tx.put(action.key, action.value)
                            pending[action.key] = .some(action.value)
                            view.put(action.key, action.value)
                        case 1:
                            try tx.delete(action.key)
                            pending[action.key] = .some(nil)
                            view.delete(action.key)
                        case 2:
                            #expect(try tx.get(action.key) == view[action.key], "step \(step)")
                        default:
                            #expect(try tx.scan(action.scan) == view.scan(action.scan), "step \(step): \(action.scan)")
                        }
                    }
                    written = pending
                    if rollBack { throw RollBack() }
                }
                #expect(!rollBack, "step \(steps): the transaction should have thrown")
            } catch is RollBack {
                #expect(rollBack)
                #expect(runs == 1)
                return
            }
            #expect(runs == 1, "step \(steps): no other writer, so no conflict and no re-run")
            for (key, value) in written { self.model.apply(key, value) }
            if !written.isEmpty { commits += 1 }
        }

        mutating func scan() throws {
            let options = scanOptions()
            #expect(try handle().scan(options) == model.scan(options), "step \(steps): \(options)")
        }

        mutating func readTransaction() throws {
            let options = scanOptions()
            let key = key()
            let model = self.model
            let step = steps
            try handle().read { rtx throws in
                #expect(try rtx.count == model.count, "step \(step)")
                #expect(try rtx.get(key) == model[key], "step \(step)")
                #expect(try rtx.scan(options) == model.scan(options), "step \(step): \(options)")
            }
        }

        /// Compacts through one handle: the other moves to the new generation by itself.
        mutating func compact() throws {
            let report = try handle().compact()
            #expect(report.keys == UInt64(model.count), "step \(steps)")
            #expect(report.sequence == UInt64(commits), "step \(steps)")
            compacted = commits
        }

        /// Closes one or both handles and opens them again; checks every key and the log.
        mutating func reopen() throws {
            let which = Int.random(in: 0...2, using: &random)
            for index in handles.indices where which == 2 || which == index {
                handles[index].close()
                handles[index] = try Store(path: path, options: relaxed())
            }
            for store in handles {
                for entry in model.all { #expect(try store.get(entry.key) == entry.value, "step \(steps)") }
                #expect(try store.stats().keys == model.count)
            }
            let report = try handles[0].verify()
            #expect(report.records == commits - compacted, "step \(steps): the log holds what came after the snapshot")
            #expect(report.snapshotKeys <= UInt64(commits))
            #expect(report.tornTail == nil)
        }

        /// After every step: the whole map through one handle, one random key through both.
        mutating func checkState() throws {
            #expect(try handle().scan() == model.all, "step \(steps)")
            let probe = Bool.random(using: &random) ? (model.keys.randomElement(using: &random) ?? key()) : key()
            for store in handles { #expect(try store.get(probe) == model[probe], "step \(steps)") }
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 0xFEED])
    func randomHistoryMatchesADictionary(seed: UInt64) throws {
        try withTemporaryDirectory("model") { dir in
            var history = try History(seed: seed, path: dir.store)
            for _ in 0..<900 { try history.step() }
            try history.reopen()
            #expect(history.model.count > 50, "the history should build up a non-trivial map")
            for store in history.handles { store.close() }

            // A last, fresh handle sees exactly the model.
            let store = try Store(path: dir.store, options: relaxed())
            #expect(try store.scan() == history.model.all)
            #expect(try store.verify().records == history.commits - history.compacted)
        }
    }
}
