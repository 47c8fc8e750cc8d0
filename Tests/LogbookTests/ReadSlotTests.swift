// The slot gets read the published view through without the state mutex: a view taken out of
// it lives exactly as long as a get may still read it, and a get never reads a view taken out
// before it started.

import Glibc
import Synchronization
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct ReadSlotTests {
    static func view(sequence: UInt64) -> PublishedView {
        var state = StoreState(appliedEnd: 0, fileEnd: 0)
        state.lastSequence = sequence
        return PublishedView(state)
    }

    /// Follows whether a view is still alive.
    final class Watch {
        weak var view: PublishedView?
    }

    /// A slot holding a new view of `sequence`, which only the slot references and `watch` follows.
    static func slot(holding sequence: UInt64, _ watch: Watch) -> ReadSlot {
        let slot = ReadSlot()
        let view = Self.view(sequence: sequence)
        watch.view = view
        slot.publish(view)
        return slot
    }

    @Test func aViewTakenOutWithNoGetReadingItIsReleasedAtOnce() {
        let first = Watch()
        let slot = Self.slot(holding: 1, first)
        #expect(first.view != nil, "the slot keeps it")
        slot.publish(Self.view(sequence: 2))
        #expect(first.view == nil)
        #expect(slot.published?.sequence == 2)
    }

    @Test func aViewTakenOutWhileAGetReadsItLivesUntilTheGetIsOver() throws {
        let first = Watch()
        let slot = Self.slot(holding: 1, first)
        let read = try slot.read(
            current: { _ in true },
            { (view) throws(LogbookError) -> [UInt8]? in
                slot.publish(Self.view(sequence: 2))  // a commit takes it out meanwhile
                #expect(first.view != nil, "kept while the get reads it")
                slot.publish(nil)  // and again: the get still counts
                #expect(first.view != nil, "kept while the get reads it")
                return [UInt8(view.sequence)]
            })
        #expect(read == [1])
        // Gets since read the other count; the next change sees both counts at zero.
        #expect(first.view != nil)
        #expect(try slot.read(current: { _ in true }, { [UInt8($0.sequence)] }) == nil, "empty")
        slot.publish(Self.view(sequence: 3))
        #expect(first.view == nil, "released once no get can read it")
        #expect(try slot.read(current: { _ in true }, { [UInt8($0.sequence)] }) == [3])
    }

    @Test func aStaleViewIsNotRead() throws {
        let slot = ReadSlot()
        slot.publish(Self.view(sequence: 5))
        #expect(try slot.read(current: { $0.sequence == 5 }, { [UInt8($0.sequence)] }) == [5])
        #expect(try slot.read(current: { $0.sequence == 6 }, { [UInt8($0.sequence)] }) == nil)
        #expect(try slot.read(current: { _ in true }, { _ in nil }) == .some(nil), "current, and the key absent")
        let failed = #expect(throws: LogbookError.self) {
            try slot.read(
                current: { _ in true },
                { (_) throws(LogbookError) -> [UInt8]? in
                    throw LogbookError(.io, "injected")
                })
        }
        #expect(failed?.message == "injected")
    }

    /// Three threads read through the slot while a fourth publishes 20,000 views (under a lock,
    /// as the state mutex): every read sees a view that was published, never one older than a
    /// view it saw before it, and when all is over every view but the last is released. Run
    /// under ThreadSanitizer and AddressSanitizer (Scripts/tsan.sh), a view released while a get
    /// reads it is reported.
    @Test func readsRaceWithPublishing() throws {
        final class Box: Sendable {
            let slot = ReadSlot()
            let mutex = Locked(0)
            let done = Atomic<Bool>(false)
        }
        let box = Box()
        box.slot.publish(Self.view(sequence: 0))
        let views = 20_000
        let errors = runOnThreads(4) { index in
            if index == 0 {
                defer { box.done.store(true, ordering: .releasing) }
                for sequence in 1...views {
                    let view = Self.view(sequence: UInt64(sequence))
                    box.mutex.withLock { _ in box.slot.publish(sequence % 7 == 0 ? nil : view) }
                }
                return
            }
            var last: UInt64 = 0
            while !box.done.load(ordering: .acquiring) {
                let seen = try box.slot.read(
                    current: { _ in true },
                    { view in
                        withUnsafeBytes(of: view.sequence) { Array($0) }
                    })
                guard let seen, let bytes = seen else { continue }
                let sequence = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                try check(sequence <= UInt64(views) && sequence >= last, "read \(sequence) after \(last)")
                last = sequence
            }
        }
        #expect(errors.isEmpty, "\(errors)")
        weak var last: PublishedView?
        box.mutex.withLock { _ in
            last = box.slot.published
            box.slot.publish(nil)
        }
        #expect(last == nil, "released once nothing reads it")
    }

    /// `close()` waits for a get reading through the slot before it unmaps the shared page that
    /// the get checks the view against: the get, held inside its read, still reads that page
    /// after `close()` was called, and `close()` returns only once the get is over.
    @Test func closeWaitsForAGetReadingThroughTheSlot() throws {
        try withTemporaryDirectory("slot-close") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            try store.put("k", "v")
            #expect(try store.string("k") == "v")  // publishes the view
            let lock = store.processLock
            final class Flag: Sendable { let closed = Atomic<Bool>(false) }
            let flag = Flag()
            let value = try store.reads.read(
                current: { view in
                    let thread = System.startThread {
                        store.close()
                        flag.closed.store(true, ordering: .releasing)
                    }
                    if let thread { pthread_detach(thread) }
                    System.sleep(nanoseconds: 50_000_000)  // time for a close that did not wait to finish
                    let closedMeanwhile = flag.closed.load(ordering: .acquiring)
                    #expect(!closedMeanwhile, "close waits for the get")
                    return view.isCurrent(lock)  // reads the shared page
                },
                { (view) throws(LogbookError) in try view.value(b("k")) })
            #expect(value == .some(b("v")))
            while !flag.closed.load(ordering: .acquiring) { System.sleep(nanoseconds: 1_000_000) }
            #expect(throws: LogbookError.self) { try store.get("k") }
        }
    }
}
