// Test support: a temporary store with a board and a clock the test moves, an in-memory
// backend (a second implementation of the key-value protocol), a backend that counts what is
// read. The file layer that dies after a number of disk changes and the seeded generator are
// in LogbookTestSupport.

@_spi(Testing) import Logbook
@_spi(Testing) import LogbookTestSupport
import Synchronization
import Testing

@testable import LogbookAgents

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A wall clock the test sets and moves.
final class TestClock: Sendable {
    private let milliseconds: Atomic<Int64>

    init(_ start: Timestamp = Timestamp(milliseconds: 1_766_748_445_000)) {
        milliseconds = Atomic(start.milliseconds)
    }

    var now: Timestamp { Timestamp(milliseconds: milliseconds.load(ordering: .relaxed)) }

    func advance(seconds: Double) {
        milliseconds.add(Int64(seconds * 1000), ordering: .relaxed)
    }
}

/// A fresh temporary directory.
func temporaryDirectory() -> String {
    var template = Array("/tmp/logbook-agents-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Removes `path` and everything under it.
func removeTree(_ path: String) {
    guard let dir = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        var info = stat()
        if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            removeTree(child)
        } else {
            unlink(child)
        }
    }
    closedir(dir)
    rmdir(path)
}

/// A board on a fresh Logbook store (relaxed durability: tests do not need syncs) and a test clock.
struct BoardFixture {
    let directory: String
    let store: Store
    let clock: TestClock
    let board: AgentBoard

    var path: String { directory + "/store" }

    init(autoCompactLogBytes: UInt64? = nil) throws {
        directory = temporaryDirectory()
        store = try Store(
            path: directory + "/store",
            options: StoreOptions(durability: .relaxed, autoCompactLogBytes: autoCompactLogBytes))
        let clock = TestClock()
        self.clock = clock
        board = AgentBoard(backend: store, defaultLeaseSeconds: 60, clock: { clock.now })
    }

    func remove() {
        store.close()
        removeTree(directory)
    }
}

func withBoard(autoCompactLogBytes: UInt64? = nil, _ body: (BoardFixture) throws -> Void) throws {
    let fixture = try BoardFixture(autoCompactLogBytes: autoCompactLogBytes)
    defer { fixture.remove() }
    try body(fixture)
}

/// A pthread mutex (held across a whole in-memory transaction).
final class TestLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// The simplest correct backend: a dictionary behind one lock, held for each whole
/// transaction (so transactions are trivially serializable); writes are buffered and applied
/// only when the body returns.
final class MemoryBackend: KeyValueBackend, @unchecked Sendable {
    private let lock = TestLock()
    private var data: [[UInt8]: [UInt8]] = [:]

    func withTransaction<T>(_ body: (any KeyValueWriting) throws -> T) throws -> T {
        try lock.locked {
            let tx = MemoryTransaction(data)
            let result = try body(tx)
            for (key, value) in tx.writes {
                if let value { data[key] = value } else { data.removeValue(forKey: key) }
            }
            return result
        }
    }

    func withSnapshot<T>(_ body: (any KeyValueReading) throws -> T) throws -> T {
        let copy = lock.locked { data }
        return try body(MemoryTransaction(copy))
    }

    var count: Int { lock.locked { data.count } }
}

final class MemoryTransaction: KeyValueWriting {
    let base: [[UInt8]: [UInt8]]
    var writes: [[UInt8]: [UInt8]?] = [:]

    init(_ base: [[UInt8]: [UInt8]]) { self.base = base }

    func get(_ key: [UInt8]) throws -> [UInt8]? {
        if let pending = writes[key] { return pending }
        return base[key]
    }

    func put(_ key: [UInt8], _ value: [UInt8]) throws { writes[key] = .some(value) }

    func delete(_ key: [UInt8]) throws { writes[key] = .some(nil) }

    func scan(_ range: KeyRange) throws -> [KeyValuePair] {
        var merged = base
        for (key, value) in writes { merged[key] = value }
        var keys = merged.keys.filter { key in
            !key.lexicographicallyPrecedes(range.start)
                && (range.end.map { key.lexicographicallyPrecedes($0) } ?? true)
        }.sorted { $0.lexicographicallyPrecedes($1) }
        if range.reverse { keys.reverse() }
        return keys.prefix(range.limit ?? Int.max).map { KeyValuePair(key: $0, value: merged[$0]!) }
    }
}

/// Wraps a backend and counts, for reads through snapshots, the point reads and the pairs
/// scans return: what a listing touches.
final class CountingBackend: KeyValueBackend, @unchecked Sendable {
    let inner: any KeyValueBackend
    let gets = Atomic<Int>(0)
    let scanned = Atomic<Int>(0)

    init(_ inner: any KeyValueBackend) { self.inner = inner }

    func withTransaction<T>(_ body: (any KeyValueWriting) throws -> T) throws -> T {
        try inner.withTransaction(body)
    }

    func withSnapshot<T>(_ body: (any KeyValueReading) throws -> T) throws -> T {
        try inner.withSnapshot { reader in try body(CountingReader(inner: reader, owner: self)) }
    }

    func reset() {
        gets.store(0, ordering: .relaxed)
        scanned.store(0, ordering: .relaxed)
    }

    struct CountingReader: KeyValueReading {
        let inner: any KeyValueReading
        let owner: CountingBackend

        func get(_ key: [UInt8]) throws -> [UInt8]? {
            owner.gets.add(1, ordering: .relaxed)
            return try inner.get(key)
        }

        func scan(_ range: KeyRange) throws -> [KeyValuePair] {
            let pairs = try inner.scan(range)
            owner.scanned.add(pairs.count, ordering: .relaxed)
            return pairs
        }
    }
}

/// Expects `body` to throw an `AgentError` with `code`; returns its message.
@discardableResult
func expectAgentError<R>(
    _ code: AgentError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R
) -> String {
    do {
        _ = try body()
        Issue.record("expected an AgentError .\(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as AgentError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        return error.message
    } catch {
        Issue.record("expected an AgentError .\(code), got \(error)", sourceLocation: sourceLocation)
    }
    return ""
}

/// Every key and value under `ag/`: to check that a failed operation changed nothing.
func allPairs(_ backend: any KeyValueBackend) throws -> [KeyValuePair] {
    try backend.scan(KeyRange(prefix: Array("ag/".utf8)))
}
