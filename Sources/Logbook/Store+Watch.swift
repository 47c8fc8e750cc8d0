// The change feed: every committed change, from any process, by tailing the log.

/// Follows a store's committed changes in commit order, from any process, by reading the log
/// behind the writers: it costs them nothing (no lock, no extra write).
///
///     let feed = try store.changes(since: 41)
///     while let change = try feed.next(timeout: nil) { print(change.sequence, change.key) }
///
/// It checks the shared commit counter (one atomic load) and reads the log only when it moved,
/// up to the end the last writer published, so it never returns a change whose commit failed.
/// Across a compaction it finishes the sealed segment (kept open, so its deletion does not
/// matter) and goes on in the next one: no gap, no duplicate. A feed that falls more than one
/// compaction behind, or a `since` older than what the log keeps, fails with `notFound` saying
/// which sequence numbers were folded into a snapshot.
public final class ChangeFeed {
    /// The store followed.
    public let store: Store
    /// Only changes to keys with this prefix are returned (nil: all).
    public let prefix: [UInt8]?
    /// The sequence number of the last commit read from the log.
    public private(set) var sequence: UInt64

    /// Changes up to this sequence number are not returned (`since`).
    private let floor: UInt64
    private var segment: UInt64 = 0
    private var fd: Int32 = -1
    private var position: UInt64 = 0
    private var seenCounter: UInt64 = .max
    private var seenGeneration: UInt64 = .max
    private var pending: [Change] = []
    private var pendingIndex = 0

    /// A feed of the changes committed after `since` (nil: after the last commit as of now).
    /// - Throws: `notFound` when commits after `since` were already folded into a snapshot;
    ///   `corrupted`, `io`, `closed`.
    init(store: Store, since: UInt64?, prefix: [UInt8]?) throws(LogbookError) {
        self.store = store
        self.prefix = prefix.flatMap { $0.isEmpty ? nil : $0 }
        let start: UInt64
        if let since { start = since } else { start = try store.snapshotView().sequence }
        floor = start
        sequence = 0
        try locate(after: start)
    }

    deinit { if fd >= 0 { store.files.close(fd) } }

    /// Finds the segment and offset of the first record after `start`, reading the log from
    /// the MANIFEST's first segment (again, when a compaction deletes it meanwhile).
    private func locate(after start: UInt64) throws(LogbookError) {
        let files = store.files
        var attempt = 0
        while true {
            let manifest = try Store.readManifest(directory: store.path, files: files)
            guard start >= manifest.snapshotSequence else {
                throw LogbookError(
                    .notFound,
                    "changes after sequence \(start) are no longer in the log of \(store.path): commits up to "
                        + "\(manifest.snapshotSequence) were compacted into snapshot \(manifest.snapshot); "
                        + "follow from sequence \(manifest.snapshotSequence) or later",
                    path: store.path)
            }
            do throws(LogbookError) {
                var last = manifest.snapshotSequence
                sequence = last
                for number in manifest.firstLog...manifest.lastLog {
                    try open(number)
                    position = UInt64(LogFormat.segmentHeaderSize)
                    let limit =
                        number == manifest.lastLog
                        ? try publishedLimit()
                        : try io(path(number)) { () throws(SystemError) in try files.size(fd) }
                    var found = false
                    let parsed = try LogReader.read(
                        files, fd: fd, path: path(number), from: position, limit: limit, after: last
                    ) { record, end in
                        if record.sequence <= start {
                            self.position = end
                            self.sequence = record.sequence
                        } else {
                            found = true
                        }
                    }
                    // Damage after the first change to hand out is for `poll` to meet, after the
                    // changes before it.
                    if case .corrupt(let offset, let reason) = parsed.end, !found {
                        throw LogbookError.corrupted(reason, path: path(number), offset: offset)
                    }
                    last = parsed.lastSequence
                    if found { return }
                }
                return
            } catch  where error.errno == SystemError.enoent && attempt < 8 {
                attempt += 1  // a compaction deleted a segment the MANIFEST we read named
            }
        }
    }

    private func path(_ number: UInt64) -> String { store.path + "/" + LogFormat.segmentName(number) }

    private func open(_ number: UInt64) throws(LogbookError) {
        let file = path(number)
        let newFD = try io(file) { () throws(SystemError) in try store.files.open(file, .readOnly) }
        if fd >= 0 { store.files.close(fd) }
        fd = newFD
        segment = number
    }

    /// Opens segment `number`; false when it does not exist.
    private func openIfPresent(_ number: UInt64) throws(LogbookError) -> Bool {
        guard store.files.kind(path(number)) != nil else { return false }
        try open(number)
        return true
    }

    /// How far the current segment may be read: to the end the last writer published when the
    /// writers append to it, to its end when it is sealed (writers moved on).
    private func publishedLimit() throws(LogbookError) -> UInt64 {
        let lock = store.processLock
        let size = try io(path(segment)) { () throws(SystemError) in try store.files.size(fd) }
        // Read the segment word on both sides of the end, so that the two belong together.
        let before = lock.segment
        let end = lock.publishedEnd
        let after = lock.segment
        if before == after && after == segment { return min(end, size) }
        if before > segment && after > segment { return size }
        return position  // mid-publication, or nothing published yet: read nothing this time
    }

    /// The changes committed since the last call, in commit order (empty when none). Never blocks.
    /// - Throws: `corrupted` naming the file and offset when the log is damaged where the feed
    ///   reads; the changes before the damage come first (this call returns them, the next one
    ///   throws), so a follower misses nothing that can be read.
    public func poll() throws -> [Change] {
        try store.state.withLock { (s) throws(LogbookError) in
            if case .closed = s.lifecycle {
                throw LogbookError(.closed, "the store at \(store.path) is closed")
            }
        }
        let lock = store.processLock
        let counter = lock.commitCounter
        let generation = lock.manifestGeneration
        guard counter != seenCounter || generation != seenGeneration || lock.segment != segment else {
            return []
        }
        var changes: [Change] = []
        while true {
            let limit = try publishedLimit()
            if limit > position {
                let file = path(segment)
                let prefix = prefix
                let parsed = try LogReader.read(
                    store.files, fd: fd, path: file, from: position, limit: limit, after: sequence
                ) { [floor] record, _ in
                    guard record.sequence > floor else { return }
                    for mutation in record.mutations {
                        let change: Change
                        switch mutation {
                        case .put(let key, let value):
                            change = Change(sequence: record.sequence, key: key, value: value)
                        case .delete(let key):
                            change = Change(sequence: record.sequence, key: key, value: nil)
                        }
                        if let prefix, !change.key.starts(with: prefix) { continue }
                        changes.append(change)
                    }
                }
                position = parsed.validEnd
                sequence = parsed.lastSequence
                if case .corrupt(let offset, let reason) = parsed.end {
                    // The counters stay as they were: the next call reads here again, and throws.
                    guard !changes.isEmpty else { throw LogbookError.corrupted(reason, path: file, offset: offset) }
                    return changes
                }
            }
            // Sealed and read to its end: go on in the next segment.
            let size = try io(path(segment)) { () throws(SystemError) in try store.files.size(fd) }
            guard lock.segment > segment, position >= size else { break }
            if !(try openIfPresent(segment + 1)) {
                let manifest = try Store.readManifest(directory: store.path, files: store.files)
                throw LogbookError(
                    .notFound,
                    "the change feed of \(store.path) fell behind: log segment \(segment + 1) was compacted away "
                        + "(commits up to \(manifest.snapshotSequence) are in snapshot \(manifest.snapshot)); "
                        + "it had read up to sequence \(sequence)",
                    path: path(segment + 1))
            }
            position = UInt64(LogFormat.segmentHeaderSize)
        }
        seenCounter = counter
        seenGeneration = generation
        return changes
    }

    /// The next change, waiting for one up to `timeout` seconds (nil: forever); nil on time-out.
    public func next(timeout: Double? = nil) throws -> Change? {
        let deadline = timeout.map { System.monotonicNanoseconds() + ProcessLock.nanoseconds($0) }
        while true {
            if pendingIndex < pending.count {
                defer { pendingIndex += 1 }
                return pending[pendingIndex]
            }
            pending = try poll()
            pendingIndex = 0
            if !pending.isEmpty { continue }
            if let deadline, System.monotonicNanoseconds() >= deadline { return nil }
            System.sleep(nanoseconds: Self.pollInterval)
        }
    }

    /// The pause between two looks at the commit counter while nothing changes.
    static let pollInterval: UInt64 = 2_000_000
}

/// The change feed as an `AsyncSequence`: `for try await change in store.changeStream() { ... }`.
/// Each iterator follows the store on its own; waiting suspends the task (no thread blocked).
public struct ChangeStream: AsyncSequence, Sendable {
    public typealias Element = Change
    let store: Store
    let since: UInt64?
    let prefix: [UInt8]?

    public struct AsyncIterator: AsyncIteratorProtocol {
        var feed: ChangeFeed?
        let store: Store
        let since: UInt64?
        let prefix: [UInt8]?
        var buffer: [Change] = []
        var index = 0

        public mutating func next() async throws -> Change? {
            if feed == nil { feed = try ChangeFeed(store: store, since: since, prefix: prefix) }
            while index >= buffer.count {
                try Task.checkCancellation()
                buffer = try feed!.poll()
                index = 0
                if buffer.isEmpty { try await Task.sleep(nanoseconds: ChangeFeed.pollInterval) }
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(feed: nil, store: store, since: since, prefix: prefix)
    }
}

extension Store {
    /// A blocking feed of the changes committed after `since` (nil: from now on), by any process.
    /// - Throws: `notFound` when commits after `since` were already compacted into a snapshot.
    public func changes(since: UInt64? = nil, prefix: [UInt8]? = nil) throws -> ChangeFeed {
        try ChangeFeed(store: self, since: since, prefix: prefix)
    }

    /// The same feed as an `AsyncSequence`; it starts when iteration starts, and ends only by
    /// an error or the task's cancellation.
    public func changeStream(since: UInt64? = nil, prefix: [UInt8]? = nil) -> ChangeStream {
        ChangeStream(store: self, since: since, prefix: prefix)
    }
}
