// `relaxed` appends copied into a shared mapping of the log (`LogMapping`): they reach the file
// without a write and extend it ahead with `allocate`; a cut by another handle and a compaction's
// seal are seen before the next copy; a full disk fails only the commit that needed the space;
// where the file system cannot allocate, writes are used; and every prefix of a copied record (a
// writer killed in the middle of its copy) opens as a torn tail.

import Glibc
import Testing

@_spi(Testing) @testable import Logbook

/// How another handle cuts the log shorter than a mapping writer allocated it.
enum LogCut: CaseIterable {
    /// Its append fails for a full disk: it cuts its partial record off.
    case failedAppend
    /// Its sync fails: it cuts its record off (nothing was appended after it).
    case failedSync
    /// It finds the remains of a writer that died mid-append, and cuts them off.
    case tornTail
}

@Suite("Relaxed appends through a mapping of the log")
struct MappedAppendTests {
    private func keys(_ range: Range<Int>) -> [[UInt8]] { range.map { b("key-\($0)") } }

    /// Writes and allocations of the first log segment recorded by `layer`.
    private func logCalls(_ layer: ProbeFileLayer, _ operation: ProbeFileLayer.Operation) -> Int {
        layer.probe.calls.filter { $0.operation == operation && $0.file == "log-1.wal" }.count
    }

    /// Everything a fresh handle on `dir` reads, after `verify()` passed.
    private func reopened(_ dir: TemporaryDirectory) throws -> [KeyValue] {
        let store = try Store(path: dir.store, options: relaxedWrites())
        defer { store.close() }
        let report = try store.verify()
        #expect(report.tornTail == nil)
        return try store.scan()
    }

    @Test func relaxedCommitsReachTheLogWithoutAWrite() throws {
        try withTemporaryDirectory("mapped") { dir in
            let layer = ProbeFileLayer(mapsAppends: true)
            let store = try Store(path: dir.store, options: relaxed().with(layer))
            let writesAtOpen = logCalls(layer, .write)
            let other = try Store(path: dir.store, options: relaxedWrites())
            for (i, key) in keys(0..<500).enumerated() {
                try store.put(key, [UInt8](repeating: UInt8(i % 251), count: 100))
            }
            #expect(logCalls(layer, .write) == writesAtOpen, "500 commits, no write")
            #expect(logCalls(layer, .allocate) == 1, "allocated ahead, 256 KiB at a time")
            #expect(try other.scan().count == 500, "another handle reads them from the file")
            let end = Int(try store.stats().logBytes)
            let file = Disk.read(dir.log)
            #expect(file.count % (256 << 10) == 0 && file.count > end)
            #expect(file[end...].allSatisfy { $0 == 0 }, "after the records: the zeros allocated ahead")
            store.close()
            other.close()
            #expect(try reopened(dir).count == 500)
        }
    }

    @Test func withoutTheOptionOrInNormalModeEachBatchIsAWrite() throws {
        for options in [relaxed { $0.mapsRelaxedAppends = false }, StoreOptions(durability: .normal)] {
            try withTemporaryDirectory("written") { dir in
                let layer = ProbeFileLayer(mapsAppends: true)
                let store = try Store(path: dir.store, options: options.with(layer))
                let writesAtOpen = logCalls(layer, .write)
                for key in keys(0..<20) { try store.put(key, b("v")) }
                #expect(logCalls(layer, .write) >= writesAtOpen + 20, "\(options.durability)")
                #expect(logCalls(layer, .allocate) == 0)
                store.close()
                #expect(try reopened(dir).count == 20)
            }
        }
    }

    /// Another handle cuts the file back to the log's end, far below what the mapping writer
    /// allocated. Its next copy must see that first: written past the end of the file, its
    /// record would be gone (or, a page further, its process killed by SIGBUS).
    @Test(arguments: LogCut.allCases)
    func aCutByAnotherHandleIsSeenBeforeTheNextCopy(_ cut: LogCut) throws {
        try withTemporaryDirectory("cut") { dir in
            let mapped = try Store(path: dir.store, options: relaxed())
            try mapped.put("first", "1")
            let end = Int(try mapped.stats().logBytes)
            #expect(Disk.size(dir.log) == 256 << 10)

            let layer = ProbeFileLayer()
            let durability: Durability = cut == .failedSync ? .normal : .relaxed
            let options = StoreOptions(durability: durability).with(layer)
            switch cut {
            case .failedAppend, .failedSync:
                let other = try Store(path: dir.store, options: options)
                if cut == .failedAppend {
                    layer.probe.fail(.write, of: "log-1.wal", errno: SystemError.enospc)
                } else {
                    layer.probe.fail(.sync, of: "log-1.wal", errno: SystemError.eio)
                }
                #expect(throws: LogbookError.self) { try other.put("refused", "2") }
                other.close()
            case .tornTail:
                var file = Disk.read(dir.log)
                let record = LogFormat.encode(
                    LogRecord(sequence: 2, mutations: [.put(key: b("refused"), value: b("2"))]))
                file.replaceSubrange(end..<end + 10, with: record[..<10])
                Disk.write(dir.log, file)
                let other = try Store(path: dir.store, options: options)
                try other.put("second", "2")  // cuts the torn tail off, then appends
                other.close()
            }
            #expect(Disk.size(dir.log) < 4096, "\(cut): the file was cut back to the log's end")

            try mapped.put("third", "3")
            for key in keys(0..<100) { try mapped.put(key, [UInt8](repeating: 7, count: 100)) }  // pages on
            mapped.close()
            let pairs = try reopened(dir)
            #expect(pairs.count == (cut == .tornTail ? 103 : 102), "\(cut)")
            #expect(pairs.contains(KeyValue(key: b("third"), value: b("3"))), "\(cut)")
            #expect(!pairs.contains { $0.key == b("refused") }, "\(cut)")
        }
    }

    /// A compaction by another handle seals the segment the writer mapped: its next commit goes
    /// to the new segment.
    @Test func aSealMovesTheMappingToTheNewSegment() throws {
        try withTemporaryDirectory("seal") { dir in
            let mapped = try Store(path: dir.store, options: relaxed())
            try mapped.put("before", "1")
            let compacting = try Store(path: dir.store, options: relaxedWrites())
            try compacting.compact()
            compacting.close()
            try mapped.put("after", "2")
            mapped.close()
            #expect(try reopened(dir).map(\.key) == [b("after"), b("before")])
        }
    }

    @Test func aFullDiskFailsOnlyTheCommitThatNeededTheSpace() throws {
        try withTemporaryDirectory("full") { dir in
            let layer = ProbeFileLayer(mapsAppends: true)
            let store = try Store(path: dir.store, options: relaxed().with(layer))
            let writesAtOpen = logCalls(layer, .write)
            layer.probe.fail(.allocate, of: "log-1.wal", errno: SystemError.enospc)
            let error = #expect(throws: LogbookError.self) { try store.put("refused", "1") }
            #expect(error?.code == .io && error?.errno == SystemError.enospc)
            try store.put("kept", "2")  // the handle goes on, and allocates again
            #expect(logCalls(layer, .allocate) == 2 && logCalls(layer, .write) == writesAtOpen)
            store.close()
            #expect(try reopened(dir) == [KeyValue(key: b("kept"), value: b("2"))])
        }
    }

    @Test func whereTheFileSystemCannotAllocateRecordsAreWritten() throws {
        try withTemporaryDirectory("noalloc") { dir in
            let layer = ProbeFileLayer(mapsAppends: true)
            layer.probe.fail(.allocate, of: "log-1.wal", errno: EOPNOTSUPP, times: .max)
            let store = try Store(path: dir.store, options: relaxed().with(layer))
            let writesAtOpen = logCalls(layer, .write)
            for key in keys(0..<50) { try store.put(key, b("v")) }
            #expect(logCalls(layer, .allocate) == 1, "tried once, then never again")
            #expect(logCalls(layer, .write) == writesAtOpen + 50)
            store.close()
            #expect(try reopened(dir).count == 50)
        }
    }

    /// What a writer killed in the middle of its copy leaves: a prefix of its record, then the
    /// zeros allocated ahead. Each such log opens to the commits before the record, reports a
    /// torn tail there, and takes the next commit in its place.
    @Test func everyPrefixOfACopiedRecordOpensAsATornTail() throws {
        try withTemporaryDirectory("prefix") { dir in
            let store = try Store(path: dir.store, options: relaxed())
            let history = try SampleHistory.commit(to: store)
            let end = Int(try store.stats().logBytes)
            store.close()
            let clean = Disk.read(dir.log)
            #expect(clean.count > end && clean[end...].allSatisfy { $0 == 0 })
            let record = LogFormat.encode(
                LogRecord(sequence: UInt64(history.count + 1), mutations: [.put(key: b("torn"), value: b("x"))]))
            for cut in 1..<record.count {
                var torn = clean
                torn.replaceSubrange(end..<end + cut, with: record[..<cut])
                Disk.write(dir.log, torn)
                let reader = try Store(path: dir.store, options: relaxed())
                #expect(try reader.scan() == history.states.last!, "cut at \(cut)")
                #expect(try reader.verify().tornTail?.offset == UInt64(end), "cut at \(cut)")
                try reader.put("next", "y")
                reader.close()
                let pairs = try reopened(dir)
                #expect(pairs.contains(KeyValue(key: b("next"), value: b("y"))), "cut at \(cut)")
                #expect(!pairs.contains { $0.key == b("torn") }, "cut at \(cut)")
            }
        }
    }
}
