import Testing

@_spi(Testing) @testable import Logbook

/// The real file layer with syncs slowed to 2 ms, as on a slow disk: while one batch syncs, the
/// other threads' commits pile up behind it.
private struct SlowSyncLayer: ForwardingFileLayer {
    let real = PosixFileLayer()
    var base: any FileLayer { real }
    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        System.sleep(nanoseconds: 2_000_000)
        try real.sync(fd, dataOnly: dataOnly)
    }
}

/// Group commit: concurrent committers of one handle are batched into one write and one sync,
/// and each still gets its own result (a conflict fails only its own transaction).
@Test func groupCommitBatchesThreads() throws {
    let dir = "/tmp/lb-gc-\(UInt32.random(in: 0...UInt32.max))"
    var options = StoreOptions(durability: .normal)
    options.fileLayer = SlowSyncLayer()
    let store = try Store(path: dir, options: options)
    // Real threads: Dispatch would run only as many at once as there are cores.
    #expect(runOnThreads(8) { t in for i in 0..<50 { try store.put("k\(t)-\(i)", "v") } }.isEmpty)
    let st = try store.stats()
    #expect(st.commits == 400)
    // While a batch's 2 ms sync runs, the other seven threads queue: one sync covers many commits.
    #expect(st.syncs <= st.commits / 2, "\(st.syncs) syncs for \(st.commits) commits")
    #expect(st.keys == 400)
    let errors = runOnThreads(8) { _ in
        for _ in 0..<25 {
            try store.write { tx in
                let n = Int(try tx.string("c") ?? "0")!
                try tx.put("c", String(n + 1))
            }
        }
    }
    #expect(errors.isEmpty, "\(errors)")
    #expect(try store.string("c") == "200")
    store.close()
    let again = try Store(path: dir)
    #expect(try again.string("c") == "200")
    #expect(try again.stats().keys == 401)
}
