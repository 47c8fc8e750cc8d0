// A FileLayer that wraps the real PosixFileLayer, records every call that reads, changes or
// syncs a file (with the file's name), and injects the faults a test arms: an errno for the next
// matching calls, or short writes. It maps `relaxed` appends only when told to.

import Glibc
import Testing

@_spi(Testing) @testable import Logbook

/// The real file layer plus a `Probe` that counts calls and injects faults.
struct ProbeFileLayer: FileLayer {
    /// What the probe recorded or will inject; shared by every copy of the layer.
    let probe = Probe()
    private let base = PosixFileLayer()
    /// Whether `relaxed` appends may bypass the probe through a mapping of the log, as with the
    /// real layer (`FileLayer.mapsAppends`); off unless a test asks, so that writes are seen.
    let mapsAppends: Bool

    init(mapsAppends: Bool = false) { self.mapsAppends = mapsAppends }

    /// The kinds of call the probe records and can fail (every call that touches a file).
    enum Operation: Sendable, Equatable {
        case open, read, size, write, sync, truncate, rename, unlink, makeDirectory, syncDirectory, allocate
        /// `startWriteback` (recorded with its range; never failed: it is a hint).
        case writeback
    }

    /// One recorded call: its kind, the last path component of the file (for a directory
    /// sync, the whole path), and for a sync whether it was data-only (fdatasync).
    struct Call: Sendable, Equatable {
        var operation: Operation
        var file: String
        var dataOnly: Bool? = nil
        /// The bytes a write or a write-back asked for.
        var range: Range<UInt64>? = nil
        /// For a write: whether every byte it asked for is zero.
        var zeros: Bool? = nil
    }

    /// An armed fault: the next `times` calls of `operation` on `file` (`"*"`: any file), after
    /// `skip` matching calls succeeded, fail with `errno`.
    struct Fault: Sendable {
        var operation: Operation
        var file: String
        var errno: Int32
        var skip: Int
        var times: Int
    }

    final class Probe: Sendable {
        private struct State {
            var names: [Int32: String] = [:]
            var calls: [Call] = []
            /// The thread that made each call (`pthread_self`), in the order of `calls`.
            var threads: [UInt] = []
            var faults: [Fault] = []
            var maxWrite: Int? = nil
            /// One-shot pauses: the next call of the operation on the file sleeps this long first.
            var pauses: [(operation: Operation, file: String, microseconds: UInt32)] = []
            /// One-shot holds: the next call of the operation on the file waits for its gate.
            var holds: [(operation: Operation, file: String, gate: Gate)] = []
        }
        /// A pthread-backed lock: the probe is called from a store's compactor thread too, and
        /// ThreadSanitizer misreads `Synchronization.Mutex`.
        private let state = Locked(State())

        /// Every recorded call, in order.
        var calls: [Call] { state.withLock { $0.calls } }

        /// Forgets the calls recorded so far.
        func reset() {
            state.withLock {
                $0.calls = []
                $0.threads = []
            }
        }

        /// The threads that made the recorded calls matching `filter`, in order.
        func threads(where filter: (Call) -> Bool) -> [UInt] {
            state.withLock { s in zip(s.calls, s.threads).filter { filter($0.0) }.map(\.1) }
        }

        /// The `dataOnly` flag of every sync of `file`, in order.
        func syncs(of file: String) -> [Bool] {
            calls.compactMap { $0.operation == .sync && $0.file == file ? $0.dataOnly : nil }
        }

        /// The ranges of every write-back of `file`, in order.
        func writebacks(of file: String) -> [Range<UInt64>] {
            calls.compactMap { $0.operation == .writeback && $0.file == file ? $0.range : nil }
        }

        func record(_ call: Call) {
            state.withLock {
                $0.calls.append(call)
                $0.threads.append(UInt(pthread_self()))
            }
        }

        /// Directory syncs, by directory path.
        var directorySyncs: [String] { calls.filter { $0.operation == .syncDirectory }.map(\.file) }

        /// Arms a fault (see `Fault`).
        func fail(_ operation: Operation, of file: String, errno: Int32, skip: Int = 0, times: Int = 1) {
            state.withLock {
                $0.faults.append(Fault(operation: operation, file: file, errno: errno, skip: skip, times: times))
            }
        }

        /// Makes the next call of `operation` on `file` sleep `microseconds` before it runs (a slow
        /// disk, to catch another thread in the middle of something).
        func pause(_ operation: Operation, of file: String, microseconds: UInt32) {
            state.withLock { $0.pauses.append((operation, file, microseconds)) }
        }

        /// Makes the next call of `operation` on `file` wait, once it is recorded, until the
        /// returned gate is opened (to act while another thread is held at that exact point).
        func hold(_ operation: Operation, of file: String) -> Gate {
            let gate = Gate()
            state.withLock { $0.holds.append((operation, file, gate)) }
            return gate
        }

        /// Disarms every fault (the disk has room again).
        func clearFaults() { state.withLock { $0.faults = [] } }

        /// Recorded calls of `operation`, on any file.
        func count(_ operation: Operation) -> Int { calls.filter { $0.operation == operation }.count }

        /// Makes every write move at most `bytes` bytes (nil: whole writes again).
        func limitWrites(to bytes: Int?) { state.withLock { $0.maxWrite = bytes } }

        var maxWrite: Int? { state.withLock { $0.maxWrite } }

        func name(of fd: Int32) -> String { state.withLock { $0.names[fd] ?? "fd \(fd)" } }

        func opened(_ fd: Int32, path: String) { state.withLock { $0.names[fd] = lastComponent(path) } }

        func closed(_ fd: Int32) { _ = state.withLock { $0.names.removeValue(forKey: fd) } }

        /// A descriptor follows its file through a rename: calls on it name the new path.
        func renamed(_ from: String, to: String) {
            let (old, new) = (lastComponent(from), lastComponent(to))
            state.withLock { s in
                for (fd, name) in s.names where name == old { s.names[fd] = new }
            }
        }

        /// Records the call; throws the armed fault when one matches.
        func enter(
            _ operation: Operation, _ file: String, dataOnly: Bool? = nil, range: Range<UInt64>? = nil,
            zeros: Bool? = nil
        ) throws(SystemError) {
            // Recorded first, so that a test sees a paused call while it sleeps.
            var gate: Gate? = nil
            let (pause, errno): (UInt32?, Int32?) = state.withLock { s in
                s.calls.append(
                    Call(operation: operation, file: file, dataOnly: dataOnly, range: range, zeros: zeros))
                s.threads.append(UInt(pthread_self()))
                var pause: UInt32? = nil
                if let i = s.pauses.firstIndex(where: { $0.operation == operation && $0.file == file }) {
                    pause = s.pauses.remove(at: i).microseconds
                }
                if let i = s.holds.firstIndex(where: { $0.operation == operation && $0.file == file }) {
                    gate = s.holds.remove(at: i).gate
                }
                guard
                    let i = s.faults.firstIndex(where: {
                        $0.operation == operation && ($0.file == file || $0.file == "*")
                    })
                else {
                    return (pause, nil)
                }
                if s.faults[i].skip > 0 {
                    s.faults[i].skip -= 1
                    return (pause, nil)
                }
                s.faults[i].times -= 1
                let code = s.faults[i].errno
                if s.faults[i].times == 0 { s.faults.remove(at: i) }
                return (pause, code)
            }
            if let pause { usleep(pause) }
            gate?.arriveAndWait()
            if let errno { throw SystemError(operation: "injected \(operation)", path: file, errno: errno) }
        }
    }

    func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 {
        try probe.enter(.open, lastComponent(path))
        let fd = try base.open(path, mode)
        probe.opened(fd, path: path)
        return fd
    }

    func close(_ fd: Int32) {
        probe.closed(fd)
        base.close(fd)
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        try probe.enter(.read, probe.name(of: fd))
        return try base.read(fd, into: buffer, at: offset)
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        try probe.enter(
            .write, probe.name(of: fd), range: offset..<offset + UInt64(buffer.count),
            zeros: buffer.allSatisfy { $0 == 0 })
        if let limit = probe.maxWrite, buffer.count > limit {
            return try base.write(fd, from: UnsafeRawBufferPointer(rebasing: buffer[0..<limit]), at: offset)
        }
        return try base.write(fd, from: buffer, at: offset)
    }

    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        try probe.enter(.sync, probe.name(of: fd), dataOnly: dataOnly)
        try base.sync(fd, dataOnly: dataOnly)
    }

    func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) {
        try probe.enter(.truncate, probe.name(of: fd))
        try base.truncate(fd, to: size)
    }

    func size(_ fd: Int32) throws(SystemError) -> UInt64 {
        try probe.enter(.size, probe.name(of: fd))
        return try base.size(fd)
    }

    func linkCount(_ fd: Int32) throws(SystemError) -> UInt64 { try base.linkCount(fd) }

    func rename(_ from: String, _ to: String) throws(SystemError) {
        try probe.enter(.rename, lastComponent(to))
        try base.rename(from, to)
        probe.renamed(from, to: to)
    }

    func unlink(_ path: String) throws(SystemError) {
        try probe.enter(.unlink, lastComponent(path))
        try base.unlink(path)
    }

    func makeDirectory(_ path: String) throws(SystemError) {
        try probe.enter(.makeDirectory, path)
        try base.makeDirectory(path)
    }

    func syncDirectory(_ path: String) throws(SystemError) {
        try probe.enter(.syncDirectory, path)
        try base.syncDirectory(path)
    }

    func kind(_ path: String) -> FileKind? { base.kind(path) }
    func listDirectory(_ path: String) throws(SystemError) -> [String] { try base.listDirectory(path) }
    func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try base.tryLock(fd, byte: byte) }
    func unlock(_ fd: Int32, byte: Int64) { base.unlock(fd, byte: byte) }
    func isLocked(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try base.isLocked(fd, byte: byte) }
    func mapShared(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        try base.mapShared(fd, length: length)
    }
    func unmap(_ address: UnsafeMutableRawPointer, length: Int) { base.unmap(address, length: length) }

    func allocate(_ fd: Int32, from offset: UInt64, count: UInt64) throws(SystemError) {
        try probe.enter(.allocate, probe.name(of: fd), range: offset..<offset + count)
        try base.allocate(fd, from: offset, count: count)
    }

    func releaseMapped(_ address: UnsafeMutableRawPointer, length: Int) {
        base.releaseMapped(address, length: length)
    }

    func startWriteback(_ fd: Int32, from offset: UInt64, count: UInt64) {
        probe.record(Call(operation: .writeback, file: probe.name(of: fd), range: offset..<offset + count))
        base.startWriteback(fd, from: offset, count: count)
    }
}

private func lastComponent(_ path: String) -> String {
    path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
}

extension StoreOptions {
    /// These options with `layer` as the file layer.
    func with(_ layer: any FileLayer) -> StoreOptions {
        var copy = self
        copy.fileLayer = layer
        return copy
    }
}

/// Where a held call waits (`Probe.hold`): the test learns that the call arrived, acts, then
/// lets it go on.
final class Gate: Sendable {
    private let state = LockedCondition((arrived: false, opened: false))

    /// Called by the held thread: announces its arrival, then waits until the gate opens.
    func arriveAndWait() {
        state.update { gate in  // wakes `waitForArrival`
            gate.arrived = true
            return ((), signal: true)
        }
        state.wait { $0.opened ? () : nil }
    }

    /// Waits until a thread arrived; false after `seconds` without one.
    func waitForArrival(seconds: Double = 30) -> Bool {
        let deadline = System.monotonicNanoseconds() + UInt64(seconds * 1e9)
        return state.wait(until: { $0.arrived ? true : nil }, deadline: deadline, timedOut: { _ in false })
    }

    /// Lets the held thread, and any that arrive later, go on.
    func open() { state.updateAndBroadcast { $0.opened = true } }
}

extension Store {
    /// Runs a compaction that fails after its seal (the rename of snapshot `number`'s data file
    /// fails through `layer`, this handle's layer): the active segment is sealed and the next
    /// one active, nothing installed.
    func compactOnlyToItsSeal(through layer: ProbeFileLayer, snapshot number: UInt64) throws {
        layer.probe.fail(.rename, of: SnapshotFormat.dataName(number), errno: SystemError.eio)
        #expect(throws: LogbookError.self) { try self.compact() }
    }
}
