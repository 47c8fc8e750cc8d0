// JSON values through Codable (`LogbookCodable`): a value round-trips, in a transaction too, is
// stored as plain JSON bytes (any client can read it), absent is nil, and bytes that are not the
// type's JSON throw instead of decoding into something.

import LogbookCodable
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CodableTests {
    struct Task: Codable, Equatable {
        var title: String
        var priority: Int
        var tags: [String]
        var done: Bool
    }

    @Test func valuesRoundTripAsJSON() throws {
        try withTemporaryDirectory("codable") { dir in
            let task = Task(title: "write tests", priority: 2, tags: ["ci", "swift"], done: false)
            do {
                let store = try Store(path: dir.store, options: relaxed())
                defer { store.close() }
                try store.put("task/1", encoding: task)
                #expect(try store.get("task/1", as: Task.self) == task)
                #expect(try store.get("task/2", as: Task.self) == nil)
                let bytes = try #require(try store.get(b("task/1")))
                #expect(String(decoding: bytes, as: UTF8.self).contains(#""title":"write tests""#))
            }
            let reopened = try Store(path: dir.store, options: relaxed())
            defer { reopened.close() }
            #expect(try reopened.get("task/1", as: Task.self) == task)
        }
    }

    @Test func transactionsReadTheirOwnJSONWrites() throws {
        try withTemporaryDirectory("codable-tx") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            defer { store.close() }
            try store.put("n", encoding: 40)
            try store.write { tx in
                let n = try #require(try tx.get("n", as: Int.self))
                try tx.put("n", encoding: n + 1)
                let again = try #require(try tx.get("n", as: Int.self))
                try tx.put("n", encoding: again + 1)
            }
            #expect(try store.get("n", as: Int.self) == 42)
        }
    }

    @Test func bytesThatAreNotTheTypeThrow() throws {
        try withTemporaryDirectory("codable-bad") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            defer { store.close() }
            try store.put(b("k"), b("not json"))
            #expect(throws: DecodingError.self) { try store.get("k", as: Task.self) }
            try store.put("k", encoding: 5)
            #expect(throws: DecodingError.self) { try store.get("k", as: Task.self) }
            #expect(try store.get("k", as: Int.self) == 5)
        }
    }
}
