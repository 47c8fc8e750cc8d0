import Testing
@_spi(Testing) @testable import Logbook

@Suite struct SnapshotCorruptionTests {
    /// Flips one bit at every byte of the MANIFEST, the index and the snapshot data file of a
    /// small compacted store: opening, verifying or reading must report corruption naming that
    /// file, or return exactly the right data; never wrong data, never a crash.
    @Test(arguments: ["MANIFEST", "snapshot-1.idx", "snapshot-1.dat"])
    func bitFlipAtEveryOffset(file: String) throws {
        let dir = "/tmp/lb-snapflip-\(UInt64.random(in: 0...UInt64.max))"
        var model: [[UInt8]: [UInt8]] = [:]
        do {
            let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
            for i in 0..<60 {
                let key = Array("key-\(i)".utf8)
                let value = Array("value-\(i * 7919 % 1000)".utf8)
                try store.put(key, value)
                model[key] = value
            }
            try store.compact()
            store.close()
        }
        let path = dir + "/" + file
        let files = PosixFileLayer()
        let original = try files.readFile(path)
        var detected = 0
        for offset in 0..<original.count {
            var damaged = original
            damaged[offset] ^= 0x10
            try write(damaged, to: path)
            do {
                let store = try Store(path: dir, options: StoreOptions(durability: .relaxed, autoCompactLogBytes: nil))
                defer { store.close() }
                var found: [[UInt8]: [UInt8]] = [:]
                do {
                    for pair in try store.scan() { found[pair.key] = pair.value }
                    #expect(found == model, "wrong data after flipping byte \(offset) of \(file)")
                } catch let error as LogbookError {
                    #expect(error.code == .corrupted && error.path == path, "\(error) at byte \(offset)")
                }
                #expect(throws: LogbookError.self, "verify missed byte \(offset) of \(file)") { try store.verify() }
                detected += 1
            } catch let error as LogbookError {
                #expect(error.code == .corrupted, "\(error)")
                #expect(error.path == path, "flip at \(offset) of \(file) reported as \(error)")
                detected += 1
            }
        }
        #expect(detected == original.count)
        try write(original, to: path)
        let store = try Store(path: dir)
        #expect(try store.verify().snapshotKeys == 60)
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        let files = PosixFileLayer()
        let fd = try files.open(path, .createReadWrite)
        defer { files.close(fd) }
        try files.truncate(fd, to: 0)
        try files.writeAll(fd, bytes, at: 0, path: path)
    }
}
