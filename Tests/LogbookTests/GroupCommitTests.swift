import Testing

@_spi(Testing) @testable import Logbook

/// The real file layer with syncs slowed to 2 ms, as on a slow disk: while one batch syncs, the
/// other threads' commits pile up behind it.
private struct SlowSyncLayer: FileLayer {
    let real = PosixFileLayer()
    func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 { try real.open(path, mode) }
    func close(_ fd: Int32) { real.close(fd) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        try real.read(fd, into: buffer, at: offset)
    }
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        try real.write(fd, from: buffer, at: offset)
    }
    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        System.sleep(nanoseconds: 2_000_000)
        try real.sync(fd, dataOnly: dataOnly)
    }
    func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) { try real.truncate(fd, to: size) }
    func size(_ fd: Int32) throws(SystemError) -> UInt64 { try real.size(fd) }
    func rename(_ from: String, _ to: String) throws(SystemError) { try real.rename(from, to) }
    func unlink(_ path: String) throws(SystemError) { try real.unlink(path) }
    func makeDirectory(_ path: String) throws(SystemError) { try real.makeDirectory(path) }
    func syncDirectory(_ path: String) throws(SystemError) { try real.syncDirectory(path) }
    func kind(_ path: String) -> FileKind? { real.kind(path) }
    func listDirectory(_ path: String) throws(SystemError) -> [String] { try real.listDirectory(path) }
    func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try real.tryLock(fd, byte: byte) }
    func unlock(_ fd: Int32, byte: Int64) { real.unlock(fd, byte: byte) }
    func isLocked(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try real.isLocked(fd, byte: byte) }
    func mapShared(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        try real.mapShared(fd, length: length)
    }
    func unmap(_ address: UnsafeMutableRawPointer, length: Int) { real.unmap(address, length: length) }
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
