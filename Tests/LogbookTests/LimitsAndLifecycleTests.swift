// Size limits (invalidArgument, nothing written) and the closed handle (closed, never a crash).

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct LimitsAndLifecycleTests {
    static let longestKey = [UInt8](repeating: 0x6B, count: Limits.maxKeySize)
    static let tooLongKey = [UInt8](repeating: 0x6B, count: Limits.maxKeySize + 1)

    func expectInvalid(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        let error = #expect(throws: LogbookError.self, "\(what)", sourceLocation: sourceLocation) { try body() }
        #expect(error?.code == .invalidArgument, "\(what)", sourceLocation: sourceLocation)
        #expect(error?.exitCode == 2, sourceLocation: sourceLocation)
    }

    @Test func keysMustBeNonEmptyAndAtMost4096Bytes() throws {
        try withTemporaryDirectory("keys") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            for key in [[UInt8](), Self.tooLongKey] {
                expectInvalid("put \(key.count)") { try store.put(key, b("v")) }
                expectInvalid("delete \(key.count)") { try store.delete(key) }
                expectInvalid("cas \(key.count)") { _ = try store.compareAndSwap(key, expected: nil, new: b("v")) }
                expectInvalid("tx.put \(key.count)") { try store.write { tx in try tx.put(key, b("v")) } }
                expectInvalid("tx.delete \(key.count)") { try store.write { tx in try tx.delete(key) } }
            }
            #expect(try store.stats().lastSequence == 0, "nothing was written")
            try store.put(Self.longestKey, b("v"))
            try store.put([0x00], b("smallest"))
            #expect(try store.get(Self.longestKey) == b("v"))
            #expect(try store.delete(Self.longestKey))
            store.close()
        }
    }

    @Test func valuesUpToTheLimitAreStoredAndLargerOnesRefused() throws {
        try withTemporaryDirectory("values") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            let largest = [UInt8](repeating: 0xA5, count: Limits.maxValueSize)
            let tooLarge = [UInt8](repeating: 0xA5, count: Limits.maxValueSize + 1)
            expectInvalid("put") { try store.put(b("big"), tooLarge) }
            expectInvalid("cas") { _ = try store.compareAndSwap(b("big"), expected: nil, new: tooLarge) }
            expectInvalid("tx.put") { try store.write { tx in try tx.put(b("big"), tooLarge) } }
            #expect(try store.stats().lastSequence == 0)
            try store.put(b("big"), largest)
            try store.put(b("empty"), [])
            #expect(try store.get(b("big")) == largest)
            #expect(try store.get(b("empty")) == [])
            store.close()
            let reopened = try Store(path: dir.store, options: relaxed())
            #expect(try reopened.get(b("big")) == largest)
            #expect(try reopened.get(b("empty")) == [])
            reopened.close()
        }
    }

    @Test func aTransactionLargerThanTheLimitIsRefusedAndWritesNothing() throws {
        try withTemporaryDirectory("txsize") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            let value = [UInt8](repeating: 1, count: Limits.maxValueSize)
            let size = Disk.size(dir.log)
            expectInvalid("4 × 16 MiB") {
                try store.write { tx in
                    for i in 0..<4 { try tx.put(b("v\(i)"), value) }
                }
            }
            #expect(Disk.size(dir.log) == size)
            #expect(try store.stats().lastSequence == 0)
            try store.put("after", "ok")
            #expect(try store.string("after") == "ok")
            store.close()
        }
    }

    @Test func everyOperationOnAClosedStoreThrowsClosed() throws {
        try withTemporaryDirectory("closed") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            try store.put("a", "1")
            store.close()
            store.close()  // idempotent
            let operations: [(String, () throws -> Void)] = [
                ("get", { _ = try store.get("a") }),
                ("put", { try store.put("a", "2") }),
                ("delete", { _ = try store.delete("a") }),
                ("scan", { _ = try store.scan() }),
                ("cas", { _ = try store.compareAndSwap(b("a"), expected: b("1"), new: b("2")) }),
                ("write", { try store.write { tx in try tx.put("a", "2") } }),
                ("read", { try store.read { _ in } }),
                ("stats", { _ = try store.stats() }),
                ("verify", { _ = try store.verify() }),
                ("writerLockHolder", { _ = try store.writerLockHolder() }),
                ("withWriterLockHeld", { try store.withWriterLockHeld {} }),
            ]
            for (name, operation) in operations {
                let error = #expect(throws: LogbookError.self, "\(name)") { try operation() }
                #expect(error?.code == .closed, "\(name): \(String(describing: error))")
                #expect(error?.exitCode == 6)
            }
            let reopened = try Store(path: dir.store, options: relaxed())
            #expect(try reopened.string("a") == "1")
            reopened.close()
        }
    }

    @Test func openingAFileOrAMissingStoreFailsClearly() {
        withTemporaryDirectory("paths") { dir in
            Disk.write(dir.path + "/file", [1])
            let notDirectory = #expect(throws: LogbookError.self) { _ = try Store(path: dir.path + "/file") }
            #expect(notDirectory?.code == .invalidArgument)
            var options = relaxed()
            options.createIfMissing = false
            let missing = #expect(throws: LogbookError.self) { _ = try Store(path: dir.store, options: options) }
            #expect(missing?.code == .notFound)
            #expect(missing?.exitCode == 1)
            #expect(!Disk.exists(dir.store), "nothing was created")
        }
    }
}
