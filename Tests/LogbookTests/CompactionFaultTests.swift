// A failed rename, fsync or directory fsync at each step of a compaction: the caller gets a
// clear error naming the file; what failed before anything was installed leaves the handle
// usable, a failed sync of the sealed log or of the directory a new MANIFEST was renamed into
// makes it fail-stop (reads go on, writes are refused); either way a reopen holds every
// acknowledged commit, verifies, and compacts. PowerLossTests adds a power cut after the same
// failures.

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct CompactionFaultTests {
    /// One injected failure in the second compaction of a store (snapshot 1 and segment 2
    /// before it; segment 3, snapshot 2 and two MANIFESTs written by it).
    struct Fault: Sendable, CustomStringConvertible {
        var operation: ProbeFileLayer.Operation
        var file: String
        var skip = 0
        /// Whether the handle must refuse writes after it.
        var failsStop = false
        /// Whether the compaction succeeds anyway (a failure it may ignore).
        var ignored = false

        var description: String { "\(operation) of \(file)" + (skip > 0 ? " #\(skip + 1)" : "") }
    }

    static let faults: [Fault] = [
        // Renames: nothing is installed, the handle goes on.
        Fault(operation: .rename, file: "log-3.wal"),
        Fault(operation: .rename, file: "MANIFEST"),
        Fault(operation: .rename, file: "snapshot-2.dat"),
        Fault(operation: .rename, file: "snapshot-2.idx"),
        Fault(operation: .rename, file: "MANIFEST", skip: 1),
        // File syncs: a temporary file that is thrown away, or the sealed log (fail-stop).
        Fault(operation: .sync, file: "log-2.wal", failsStop: true),
        Fault(operation: .sync, file: "log-3.wal.tmp"),
        Fault(operation: .sync, file: "MANIFEST.tmp"),
        Fault(operation: .sync, file: "snapshot-2.dat.tmp"),
        Fault(operation: .sync, file: "snapshot-2.idx.tmp"),
        Fault(operation: .sync, file: "MANIFEST.tmp", skip: 1),
        // Directory syncs, in order: new segment, sealing MANIFEST, snapshot, installing
        // MANIFEST, deletions (the last only makes deletions durable; it may fail unnoticed).
        Fault(operation: .syncDirectory, file: "store"),
        Fault(operation: .syncDirectory, file: "store", skip: 1, failsStop: true),
        Fault(operation: .syncDirectory, file: "store", skip: 2),
        Fault(operation: .syncDirectory, file: "store", skip: 3, failsStop: true),
        Fault(operation: .syncDirectory, file: "store", skip: 4, ignored: true),
    ]

    @Test(arguments: faults)
    func aFailureDuringCompaction(_ fault: Fault) throws {
        try withTemporaryDirectory("compactfault", inMemory: true) { dir in
            let layer = ProbeFileLayer()
            let (store, startModel) = try DiskFullTests.storeWithHistory(dir, .normal, layer)
            var model = startModel
            let directory = fault.operation == .syncDirectory ? dir.store : fault.file
            layer.probe.reset()
            layer.probe.fail(fault.operation, of: directory, errno: SystemError.eio, skip: fault.skip)
            if fault.ignored {
                try store.compact()
            } else {
                let error = #expect(throws: LogbookError.self, "\(fault)") { try store.compact() }
                #expect(
                    error?.code == (fault.failsStop ? .storeFailed : .io),
                    "\(fault): \(String(describing: error))")
                #expect(error?.errno == SystemError.eio, "\(fault)")
                #expect(
                    error?.message.contains("Input/output error") == true, "\(fault): \(error?.message ?? "")"
                )
                // (The probe reports the file by its last path component.)
                #expect(error?.path?.hasSuffix(fault.file) == true, "\(fault): \(error?.path ?? "no path")")
            }
            let fired = layer.probe.calls.filter { $0.operation == fault.operation && $0.file == directory }
                .count
            #expect(fired == fault.skip + 1, "\(fault): the fault was reached")
            #expect(try store.scan() == model.all, "\(fault): reads go on")
            if fault.failsStop {
                let refused = #expect(throws: LogbookError.self, "\(fault)") { try store.put("x", "1") }
                #expect(refused?.code == .storeFailed, "\(fault)")
                let again = #expect(throws: LogbookError.self, "\(fault)") { try store.compact() }
                #expect(again?.code == .storeFailed, "\(fault)")
            } else {
                try store.put("x", "1")
                model.put(b("x"), b("1"))
                #expect(try store.scan() == model.all)
                try store.compact()
                #expect(try store.scan() == model.all)
            }
            store.close()

            let reopened = try Store(path: dir.store)
            #expect(try reopened.scan() == model.all, "\(fault)")
            _ = try reopened.verify()
            try reopened.put("y", "2")
            model.put(b("y"), b("2"))
            try reopened.compact()
            #expect(try reopened.scan() == model.all, "\(fault)")
            _ = try reopened.verify()
            reopened.close()
            let names = try PosixFileLayer().listDirectory(dir.store)
            #expect(!names.contains { $0.hasSuffix(".tmp") }, "\(fault): \(names)")
            #expect(names.filter { $0.hasPrefix("snapshot-") }.count == 2, "\(fault): \(names)")
            #expect(names.filter { $0.hasPrefix("log-") }.count == 1, "\(fault): \(names)")
        }
    }
}
