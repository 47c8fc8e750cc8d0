@_spi(Testing) import LogbookTestSupport
import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CompactionCrashTests {
    /// Dies at every disk-changing operation of a workload that compacts twice, in each mode:
    /// the store must reopen to exactly the acknowledged commits, verify, and compact again.
    @Test(arguments: Durability.allCases)
    func crashAtEveryStepOfCompaction(durability: Durability) throws {
        var step = 1
        var completedRuns = 0
        while completedRuns == 0 {
            let dir = "/tmp/lb-crashstep-\(UInt64.random(in: 0...UInt64.max))"
            var model: [String: String] = [:]
            // A store with history: a snapshot already, and log records on top of it.
            do {
                let seed = try Store(path: dir, options: StoreOptions(durability: durability, autoCompactLogBytes: nil))
                for i in 0..<40 { try seed.put("a\(i)", "seed\(i)") }
                try seed.compact()
                for i in 0..<10 { try seed.delete("a\(i)") }
                for i in 0..<10 { try seed.put("b\(i)", "seed\(i)") }
                seed.close()
                for i in 10..<40 { model["a\(i)"] = "seed\(i)" }
                for i in 0..<10 { model["b\(i)"] = "seed\(i)" }
            }
            let layer = DyingFileLayer(changesBeforeDeath: step)
            var options = StoreOptions(durability: durability, autoCompactLogBytes: nil)
            options.fileLayer = layer
            // The operation that was under way when the process died: its commit was not
            // acknowledged, so it may or may not have survived.
            var inFlight: (key: String, value: String?)? = nil
            do {
                let store = try Store(path: dir, options: options)
                let steps: [(String, String?)] = [
                    ("c1", "before"), ("", nil), ("c2", "between"), ("a20", nil), ("", nil), ("c3", "after"),
                ]
                for (key, value) in steps {
                    if key.isEmpty {
                        try store.compact()
                        continue
                    }
                    inFlight = (key, value)
                    if let value { try store.put(key, value) } else { try store.delete(key) }
                    model[key] = value
                    inFlight = nil
                }
                store.close()
                if !layer.isDead { completedRuns += 1 }
            } catch {
                // Died mid-way: the model holds what was acknowledged.
            }
            let reopened = try Store(path: dir, options: StoreOptions(durability: durability, autoCompactLogBytes: nil))
            var found: [String: String] = [:]
            for pair in try reopened.scan() {
                found[String(decoding: pair.key, as: UTF8.self)] = String(decoding: pair.value, as: UTF8.self)
            }
            var alternative = model
            if let inFlight { alternative[inFlight.key] = inFlight.value }
            #expect(found == model || found == alternative, "died at change \(step) (\(durability))")
            _ = try reopened.verify()
            try reopened.compact()
            try reopened.put("d", "later")
            #expect(try reopened.string("d") == "later")
            reopened.close()
            let names = try PosixFileLayer().listDirectory(dir)
            #expect(!names.contains { $0.hasSuffix(".tmp") }, "leftovers after step \(step): \(names)")
            step += 1
            #expect(step < 400)
            if step >= 400 { break }
        }
    }
}
