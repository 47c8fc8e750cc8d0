import Testing
import Dispatch
@testable import Logbook

/// Group commit: concurrent committers of one handle are batched, each gets its own result.
@Test func groupCommitBatchesThreads() throws {
    let dir = "/tmp/lb-gc-\(UInt32.random(in: 0...UInt32.max))"
    let store = try Store(path: dir)
    DispatchQueue.concurrentPerform(iterations: 8) { t in
        for i in 0..<100 { try! store.put("k\(t)-\(i)", "v") }
    }
    let st = try store.stats()
    #expect(st.commits == 800)
    // Eight threads committing at once share syncs: one fdatasync covers a whole batch.
    #expect(st.syncs < st.commits)
    #expect(st.keys == 800)
    DispatchQueue.concurrentPerform(iterations: 8) { t in
        for _ in 0..<50 { try! store.write { tx in let n = Int(try tx.string("c") ?? "0")!; try tx.put("c", String(n + 1)) } }
    }
    #expect(try store.string("c") == "400")
    store.close()
    let again = try Store(path: dir)
    #expect(try again.string("c") == "400")
    #expect(try again.stats().keys == 801)
}
