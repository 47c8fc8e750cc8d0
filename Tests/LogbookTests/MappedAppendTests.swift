// `relaxed` appends copied into a shared mapping of the log (`LogMapping`): they reach the file
// without a write and extend it ahead with `allocate`; a cut by another handle and a compaction's
// seal are seen before the next copy; a full disk fails only the commit that needed the space;
// where the file system cannot allocate, writes are used; and every prefix of a copied record (a
// writer killed in the middle of its copy) opens as a torn tail.

import Glibc
import Synchronization
import Testing

@_spi(Testing) @testable import Logbook

/// The real file layer, mapping appends as the real one does (other forwarding layers do not),
/// counting writes and allocations, and failing the next `allocate` with `failAllocate` when set.
private final class MappingProbe: ForwardingFileLayer, Sendable {
    let base: any FileLayer = PosixFileLayer()
    private let state = Mutex((writes: 0, allocations: 0, failAllocate: Int32?.none, failEveryAllocate: false))

    var mapsAppends: Bool { true }
    var writes: Int { state.withLock { $0.writes } }
    var allocations: Int { state.withLock { $0.allocations } }

    /// The next `allocate` fails with `errno` (every one, when `always`).
    func failAllocate(_ errno: Int32, always: Bool = false) {
        state.withLock { ($0.failAllocate, $0.failEveryAllocate) = (errno, always) }
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        state.withLock { $0.writes += 1 }
        return try base.write(fd, from: buffer, at: offset)
    }

    func allocate(_ fd: Int32, from offset: UInt64, count: UInt64) throws(SystemError) {
        let failure = state.withLock { s -> Int32? in
            s.allocations += 1
            defer { if !s.failEveryAllocate { s.failAllocate = nil } }
            return s.failAllocate
        }
        if let failure { throw SystemError(operation: "fallocate", errno: failure) }
        try base.allocate(fd, from: offset, count: count)
    }
}

/// The real file layer, failing the next write with ENOSPC, or the next sync with EIO, once
/// armed (never mapping appends).
private final class FailsOnce: ForwardingFileLayer, Sendable {
    let base: any FileLayer = PosixFileLayer()
    private let armed = Mutex((write: false, sync: false))

    func armWrite() { armed.withLock { $0.write = true } }
    func armSync() { armed.withLock { $0.sync = true } }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        if armed.withLock({ a in
            defer { a.write = false }
            return a.write
        }) {
            throw SystemError(operation: "pwrite", errno: SystemError.enospc)
        }
        return try base.write(fd, from: buffer, at: offset)
    }

    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        if armed.withLock({ a in
            defer { a.sync = false }
            return a.sync
        }) {
            throw SystemError(operation: "fdatasync", errno: SystemError.eio)
        }
        try base.sync(fd, dataOnly: dataOnly)
    }
}

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
            let probe = MappingProbe()
            let store = try Store(path: dir.store, options: relaxed().with(probe))
            let writesAtOpen = probe.writes
            let other = try Store(path: dir.store, options: relaxedWrites())
            for (i, key) in keys(0..<500).enumerated() {
                try store.put(key, [UInt8](repeating: UInt8(i % 251), count: 100))
            }
            #expect(probe.writes == writesAtOpen, "500 commits, no write")
            #expect(probe.allocations == 1, "allocated ahead, 256 KiB at a time")
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
                let probe = MappingProbe()
                let store = try Store(path: dir.store, options: options.with(probe))
                let writesAtOpen = probe.writes
                for key in keys(0..<20) { try store.put(key, b("v")) }
                #expect(probe.writes >= writesAtOpen + 20, "\(options.durability)")
                #expect(probe.allocations == 0)
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

            let failing = FailsOnce()
            let durability: Durability = cut == .failedSync ? .normal : .relaxed
            let options = StoreOptions(durability: durability, mapsRelaxedAppends: false).with(failing)
            switch cut {
            case .failedAppend, .failedSync:
                let other = try Store(path: dir.store, options: options)
                cut == .failedAppend ? failing.armWrite() : failing.armSync()
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
            let probe = MappingProbe()
            let store = try Store(path: dir.store, options: relaxed().with(probe))
            let writesAtOpen = probe.writes
            probe.failAllocate(SystemError.enospc)
            let error = #expect(throws: LogbookError.self) { try store.put("refused", "1") }
            #expect(error?.code == .io && error?.errno == SystemError.enospc)
            try store.put("kept", "2")  // the handle goes on, and allocates again
            #expect(probe.allocations == 2 && probe.writes == writesAtOpen)
            store.close()
            #expect(try reopened(dir) == [KeyValue(key: b("kept"), value: b("2"))])
        }
    }

    @Test func whereTheFileSystemCannotAllocateRecordsAreWritten() throws {
        try withTemporaryDirectory("noalloc") { dir in
            let probe = MappingProbe()
            probe.failAllocate(EOPNOTSUPP, always: true)
            let store = try Store(path: dir.store, options: relaxed().with(probe))
            let writesAtOpen = probe.writes
            for key in keys(0..<50) { try store.put(key, b("v")) }
            #expect(probe.allocations == 1, "tried once, then never again")
            #expect(probe.writes == writesAtOpen + 50)
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
