// Damage inside the log: a flipped byte in any record that valid records follow makes open and
// verify fail with `corrupted`, naming log-1.wal and the damaged record's offset. A damaged
// header is corruption at offset 0. Damaged bytes are never returned as data.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct MidLogDamageTests {
    static func makeStore(_ dir: TemporaryDirectory) throws -> SampleHistory {
        let store = try Store(path: dir.store, options: relaxed())
        defer { store.close() }
        return try SampleHistory.commit(to: store)
    }

    func expectCorruption(
        _ error: LogbookError?, at offset: Int, in dir: TemporaryDirectory, _ context: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(error?.code == .corrupted, "\(context)", sourceLocation: sourceLocation)
        #expect(error?.path == dir.log, "\(context)", sourceLocation: sourceLocation)
        #expect(error?.offset == UInt64(offset), "\(context)", sourceLocation: sourceLocation)
        #expect(error?.message.contains("log-1.wal") == true, "\(context)", sourceLocation: sourceLocation)
        #expect(
            error?.message.contains("offset \(offset)") == true, "\(context): \(error?.message ?? "")",
            sourceLocation: sourceLocation)
        #expect(error?.exitCode == 5, sourceLocation: sourceLocation)
    }

    @Test(arguments: [0, 1, 3])
    func aFlippedByteAnywhereInAnEarlierRecordFailsOpenAndVerify(_ victim: Int) throws {
        try withTemporaryDirectory("damage") { dir in
            let history = try Self.makeStore(dir)
            let clean = Disk.read(dir.log)
            let start = history.starts[victim]
            // A handle opened before the damage: its verify() must find it too.
            let open = try Store(path: dir.store, options: relaxed())
            defer { open.close() }
            for offset in start..<history.recordEnd(victim) {
                for mask: UInt8 in [0x01, 0x80] {
                    var damaged = clean
                    damaged[offset] ^= mask
                    Disk.write(dir.log, damaged)
                    let context = "record \(victim + 1), byte \(offset) ^ \(mask)"

                    let opening = #expect(throws: LogbookError.self, "\(context)") {
                        _ = try Store(path: dir.store, options: relaxed())
                    }
                    expectCorruption(opening, at: start, in: dir, context)

                    let verifying = #expect(throws: LogbookError.self, "\(context)") { _ = try open.verify() }
                    expectCorruption(verifying, at: start, in: dir, context)
                    #expect(verifying?.message.contains("record \(victim + 1)") == true, "\(context)")
                    // What the open handle read before the damage is still what it returns.
                    #expect(try open.scan() == history.states[history.count])
                }
            }
            Disk.write(dir.log, clean)
            #expect(try open.verify().records == history.count)
        }
    }

    /// A log larger than the reader's window (4 MiB): damage before, inside and after a window
    /// boundary is still judged against everything that follows it.
    @Test func damageAndTornTailsAreJudgedAcrossReadWindows() throws {
        try withTemporaryDirectory("windows") { dir in
            var starts: [Int] = []
            var states: [[KeyValue]] = []
            do {
                let store = try Store(path: dir.store, options: relaxedWrites())
                for i in 0..<8 {
                    starts.append(Int(try store.stats().logBytes))
                    let size = (1...6).contains(i) ? 1_500_000 : 10
                    try store.put(b("k\(i)"), [UInt8](repeating: UInt8(i), count: size))
                    states.append(try store.scan())
                }
                store.close()
            }
            let clean = Disk.read(dir.log)
            #expect(clean.count > 2 * LogReader.window)
            func open() throws -> [KeyValue] {
                let store = try Store(path: dir.store, options: relaxed())
                defer { store.close() }
                return try store.scan()
            }
            // Damage in records 1, 3 (crosses the first window boundary), 6 (in the second window).
            for victim in [0, 2, 3, 5] {
                var damaged = clean
                damaged[starts[victim] + 30] ^= 0x01
                Disk.write(dir.log, damaged)
                let error = #expect(throws: LogbookError.self, "record \(victim + 1)") { _ = try open() }
                expectCorruption(error, at: starts[victim], in: dir, "record \(victim + 1)")
            }
            // Cuts: inside the last (small) record, inside a large record past the first window.
            for (cut, records) in [(clean.count - 3, 7), (starts[5] + 1_000_000, 5), (starts[3] + 9, 3)] {
                Disk.write(dir.log, Array(clean[..<cut]))
                #expect(try open() == states[records - 1], "cut at \(cut)")
            }
        }
    }

    @Test func aDamagedSegmentHeaderIsCorruptionAtOffsetZero() throws {
        try withTemporaryDirectory("header") { dir in
            _ = try Self.makeStore(dir)
            let clean = Disk.read(dir.log)
            for offset in 0..<LogFormat.segmentHeaderSize {
                var damaged = clean
                damaged[offset] ^= 0x04
                Disk.write(dir.log, damaged)
                let error = #expect(throws: LogbookError.self, "header byte \(offset)") {
                    _ = try Store(path: dir.store, options: relaxed())
                }
                expectCorruption(error, at: 0, in: dir, "header byte \(offset)")
            }
        }
    }

    /// Damage confined to the last record cannot be told from a torn write: the record is
    /// dropped as a torn tail, never returned, and verify reports where the tail starts.
    @Test func damageInTheLastRecordIsNeverReturnedAsData() throws {
        try withTemporaryDirectory("lastdamage") { dir in
            let history = try Self.makeStore(dir)
            let clean = Disk.read(dir.log)
            let n = history.count
            let last = history.starts[n - 1]
            for offset in last..<history.end {
                var damaged = clean
                damaged[offset] ^= 0x10
                Disk.write(dir.log, damaged)
                let store = try Store(path: dir.store, options: relaxed())
                #expect(try store.scan() == history.states[n - 1], "byte \(offset)")
                let report = try store.verify()
                #expect(report.records == n - 1)
                #expect(report.tornTail?.offset == UInt64(last), "byte \(offset)")
                store.close()
            }
        }
    }
}
