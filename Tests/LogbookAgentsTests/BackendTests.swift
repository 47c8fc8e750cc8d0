// The reads the layer takes in place, `lendValue` and `visit`, against `get` and `scan`: on
// Logbook's `Store` (which lends its own bytes, in snapshots and in transactions with their
// own writes) and on the in-memory backend (the protocol's defaults).

import Logbook
import Testing

@testable import LogbookAgents

@Suite struct BackendTests {
    /// What `lendValue` lent, copied out: nil when it lent nil; fails when it never called.
    func lent(_ reader: any KeyValueReading, _ key: [UInt8]) throws -> [UInt8]?? {
        var seen: [UInt8]?? = nil
        try reader.lendValue(of: key) { value in
            #expect(seen == nil, "lent twice")
            seen = .some(value.map { [UInt8]($0) })
        }
        return seen
    }

    /// The pairs `visit` gave, copied out, stopping after `stopAfter` of them.
    func visited(_ reader: any KeyValueReading, _ range: KeyRange, stopAfter: Int = .max) throws -> [KeyValuePair] {
        var pairs: [KeyValuePair] = []
        try reader.visit(range) { key, value in
            pairs.append(KeyValuePair(key: [UInt8](key), value: [UInt8](value)))
            return pairs.count < stopAfter
        }
        return pairs
    }

    /// Every read of `reader` in place agrees with its copying reads.
    func expectAgreement(_ reader: any KeyValueReading, _ keys: [[UInt8]], _ label: String) throws {
        for key in keys + [Array("ag/absent".utf8), Array("ag/t/".utf8), []] {
            let value = try reader.get(key)
            #expect(try lent(reader, key) == .some(value), "\(label): lendValue of \(key)")
        }
        let ranges = [
            KeyRange(prefix: Array("ag/".utf8)), KeyRange(prefix: Array("ag/t/".utf8), limit: 7),
            KeyRange(prefix: Array("ag/t/".utf8), reverse: true),
            KeyRange(start: Array("ag/i/".utf8), end: Array("ag/t/".utf8), limit: 30, reverse: true),
            KeyRange(prefix: Array("ag/none/".utf8)),
        ]
        for range in ranges {
            let scanned = try reader.scan(range)
            #expect(try visited(reader, range) == scanned, "\(label): visit of \(range)")
            #expect(try visited(reader, range, stopAfter: 3) == Array(scanned.prefix(3)), "\(label): a stopped visit")
        }
    }

    func populate(_ board: AgentBoard) throws {
        for i in 0..<40 {
            var new = NewTask(title: "task \(i)", priority: i % 5, labels: i % 4 == 0 ? ["ui"] : [])
            new.description = String(repeating: "d", count: i * 30)  // values from 40 bytes to over 1 KiB
            _ = try board.createTask(new, by: "p")
        }
    }

    @Test func lendAndVisitAgreeWithGetAndScanOnLogbook() throws {
        try withBoard { f in
            try populate(f.board)
            let keys = try f.store.scan(ScanOptions(start: [], end: nil)).map(\.key)
            #expect(keys.count > 100)
            try f.store.withSnapshot { try expectAgreement($0, keys, "snapshot over the memtable") }
            try f.store.compact()
            try f.store.withSnapshot { try expectAgreement($0, keys, "snapshot over a compacted store") }
            try f.store.withTransaction { tx in
                // The transaction's own writes, over the store's.
                try tx.put(keys[3], Array("changed".utf8))
                try tx.delete(keys[5])
                try tx.put(Array("ag/t/zz-new".utf8), [])
                try expectAgreement(tx, keys, "transaction")
            }
        }
    }

    @Test func theDefaultsLendWhatGetAndScanReturn() throws {
        let backend = MemoryBackend()
        let board = AgentBoard(backend: backend, defaultLeaseSeconds: 60, clock: { Timestamp(milliseconds: 1_000) })
        try populate(board)
        let keys = try allPairs(backend).map(\.key)
        try backend.withSnapshot { try expectAgreement($0, keys, "memory snapshot") }
        try backend.withTransaction { tx in
            try tx.put(keys[3], Array("changed".utf8))
            try tx.delete(keys[5])
            try expectAgreement(tx, keys, "memory transaction")
        }
    }
}
