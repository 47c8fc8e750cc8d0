// Compare-and-swap: swaps only when the current value is the expected one (nil: absent),
// writes nothing when it does not, and deletes when the new value is nil.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CompareAndSwapTests {
    @Test func swapsExactlyWhenTheCurrentValueMatches() throws {
        try withTemporaryDirectory("cas") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            func sequence() throws -> UInt64 { try store.stats().lastSequence }

            #expect(try store.compareAndSwap(b("k"), expected: nil, new: b("1")), "create when absent")
            #expect(try store.string("k") == "1")
            #expect(try sequence() == 1)

            #expect(try store.compareAndSwap(b("k"), expected: nil, new: b("2")) == false, "present, absence expected")
            #expect(try store.compareAndSwap(b("k"), expected: b("2"), new: b("3")) == false, "wrong value")
            #expect(try store.compareAndSwap(b("k"), expected: b("1\0"), new: b("3")) == false, "longer value")
            #expect(try store.compareAndSwap(b("k"), expected: [], new: b("3")) == false, "empty is not absent")
            #expect(try store.string("k") == "1")
            #expect(try sequence() == 1, "a failed swap writes nothing")

            #expect(try store.compareAndSwap(b("k"), expected: b("1"), new: b("2")))
            #expect(try store.string("k") == "2")
            #expect(try store.compareAndSwap(b("k"), expected: b("2"), new: []))
            #expect(try store.get("k") == [])
            #expect(try store.compareAndSwap(b("k"), expected: nil, new: b("x")) == false, "an empty value is present")
            #expect(try store.compareAndSwap(b("k"), expected: [], new: nil), "nil new value deletes")
            #expect(try store.get("k") == nil)
            #expect(try sequence() == 4)

            #expect(try store.compareAndSwap(b("k"), expected: nil, new: nil), "absent stays absent")
            #expect(try sequence() == 4, "and nothing is written for it")
            #expect(try store.compareAndSwap(b("k"), expected: b("1"), new: nil) == false)
            store.close()

            let reopened = try Store(path: dir.store, options: relaxed())
            #expect(try reopened.get("k") == nil)
            #expect(try reopened.verify().records == 4)
            reopened.close()
        }
    }

    @Test func seesAnotherHandlesLatestCommit() throws {
        try withTemporaryDirectory("cas2") { dir in
            let a = try Store(path: dir.store, options: relaxed())
            let other = try Store(path: dir.store, options: relaxed())
            try a.put("k", "1")
            try other.put("k", "2")
            #expect(try a.compareAndSwap(b("k"), expected: b("1"), new: b("a")) == false)
            #expect(try a.compareAndSwap(b("k"), expected: b("2"), new: b("a")))
            #expect(try other.string("k") == "a")
            a.close()
            other.close()
        }
    }
}
