import Dispatch
import Testing

@_spi(Testing) @testable import Logbook

/// Compaction while threads and a second handle (as another process would) transfer between
/// accounts and scan: every read view holds every account and the same total, in key order.
@Suite struct CompactionConcurrencyTests {
    static let accounts = 64
    static let initial = 1000

    static func key(_ i: Int) -> [UInt8] { Array("acct/\(String(i + 1000))".utf8) }

    static func checkView(_ pairs: [KeyValue]) -> String? {
        guard pairs.count == accounts else { return "scan saw \(pairs.count) accounts" }
        for (a, b) in zip(pairs, pairs.dropFirst()) where compareBytes(a.key, b.key) >= 0 {
            return "scan out of order"
        }
        let total = pairs.reduce(0) { $0 + Int(String(decoding: $1.value, as: UTF8.self))! }
        return total == accounts * initial ? nil : "total \(total)"
    }

    @Test func transfersScansAndCompactionsInterleave() throws {
        let dir = "/tmp/lb-compact-load-\(UInt64.random(in: 0...UInt64.max))"
        let options = StoreOptions(durability: .relaxed, autoCompactLogBytes: nil)
        let store = try Store(path: dir, options: options)
        let other = try Store(path: dir, options: options)
        try store.write { tx in
            for i in 0..<Self.accounts { try tx.put(Self.key(i), Array(String(Self.initial).utf8)) }
        }
        let failures = Locked<[String]>([])
        let compactions = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 6) { worker in
            do {
                switch worker {
                case 0:  // compacts over and over through one handle
                    for _ in 0..<8 {
                        try store.compact()
                        compactions.withLock { $0 += 1 }
                    }
                case 1, 2:  // scans through both handles
                    let handle = worker == 1 ? store : other
                    for _ in 0..<150 {
                        if let problem = Self.checkView(try handle.scan(ScanOptions(prefix: Array("acct/".utf8)))) {
                            failures.withLock { $0.append(problem) }
                        }
                    }
                default:  // transfers through both handles
                    let handle = worker % 2 == 0 ? store : other
                    var rng = SystemRandomNumberGenerator()
                    for _ in 0..<200 {
                        let from = Int.random(in: 0..<Self.accounts, using: &rng)
                        let to = (from + Int.random(in: 1..<Self.accounts, using: &rng)) % Self.accounts
                        try handle.write { tx in
                            let a = Int(String(decoding: try tx.get(Self.key(from))!, as: UTF8.self))!
                            let b = Int(String(decoding: try tx.get(Self.key(to))!, as: UTF8.self))!
                            try tx.put(Self.key(from), Array(String(a - 7).utf8))
                            try tx.put(Self.key(to), Array(String(b + 7).utf8))
                        }
                    }
                }
            } catch {
                failures.withLock { $0.append("worker \(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(compactions.withLock { $0 } == 8)
        #expect(Self.checkView(try other.scan()) == nil)
        #expect(try other.stats().snapshot == 8)
        store.close()
        other.close()
        let reopened = try Store(path: dir)
        #expect(Self.checkView(try reopened.scan()) == nil)
        _ = try reopened.verify()
    }
}
