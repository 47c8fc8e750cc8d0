import FuzzSupport
import Glibc
// fuzz-store-open: a whole store opened from fuzzed files (LOCK page, MANIFEST, log segments,
// snapshot data and index, leftovers), then read, verified, written, compacted and reopened.
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        StoreOpenTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-store-open", StoreOpenTarget.run) } }
#endif

/// Input: a `StoreImage`. Control bits: 1 fix up every checksum; 2-4 durability (relaxed,
/// normal, paranoid); 8 write (put a key, delete one) and reopen; 16 compact and reopen;
/// 32 `createIfMissing: false`; 64 watch the writes from a second handle.
///
/// Properties, whatever the files hold:
/// - every call returns or throws a `LogbookError` (never another error, never a crash); a
///   `corrupted` error names a file of the store;
/// - when the offline `Store.verify(path:)` passes, the store opens, every read succeeds, the
///   handle's `verify()` gives the same report (but for an unfinished first segment, which open
///   writes again), and writes and compaction succeed;
/// - reads agree with each other: forward and reverse scans, `get` of every scanned key,
///   `getMany` of them, and `stats().keys`; one-shot `Store.get(_:at:options:)` and
///   `Store.getMany(_:at:options:)` agree with them;
/// - writes and compaction keep exactly the expected data, seen by a second handle opened before
///   them and after a close and reopen.
enum StoreOpenTarget {
    /// A directory of its own under $TMPDIR (or /tmp), emptied before each input.
    static let directory: String = {
        let parent = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((parent + "/logbook-fuzz-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            Fuzz.fail("mkdtemp in \(parent) failed")
        }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        atexit {
            StoreImage.empty(StoreOpenTarget.directory)
            rmdir(StoreOpenTarget.directory)
        }
        return path
    }()

    static func run(_ data: UnsafeRawBufferPointer) {
        var image = StoreImage(data)
        if image.control & 1 != 0 { image.fixChecksums() }
        let dir = directory
        image.write(to: dir)
        Fuzz.note("control \(image.control), files \(image.files.map { "\($0.name) (\($0.bytes.count))" })")
        let durability: [Durability] = [.relaxed, .normal, .paranoid, .relaxed]
        let options = StoreOptions(
            durability: durability[Int(image.control >> 1) & 3], lockTimeout: 1,
            createIfMissing: image.control & 32 == 0, autoCompactLogBytes: nil)

        let offline = attempt { try Store.verify(path: dir, options: options) }
        let verified = (try? offline.get()) != nil

        guard
            let store = attempt({ try Store(path: dir, options: options) }).value(
                or: verified ? "the store verifies but does not open" : nil)
        else { return }
        defer { store.close() }

        let pairs = attempt { try store.scan() }.value(or: verified ? "the store verifies but does not scan" : nil)
        if let pairs {
            checkReads(store, pairs, strict: verified)
            checkOneShotGets(pairs, options, strict: verified)
        }
        let online = attempt { try store.verify() }
        if case .success(let report) = offline {
            guard case .success(let again) = online else {
                Fuzz.fail("verify() fails where verify(path:) passed: \(online)")
            }
            if report.tornTail?.offset == 0 {
                // An unfinished first segment (a creation cut short): open wrote it again.
                Fuzz.require(again.records == 0 && again.tornTail == nil, "after rewriting log-1.wal: \(again)")
            } else {
                Fuzz.require(again == report, "verify() reports \(again), verify(path:) \(report)")
            }
        }
        guard var model = pairs.map({ Dictionary(uniqueKeysWithValues: $0.map { ($0.key, $0.value) }) }) else { return }

        // A second handle, opened before the writes, must see them (through the shared page).
        let watcher =
            image.control & 64 != 0
            ? attempt({ try Store(path: dir, options: options) }).value(or: "a second handle does not open") : nil
        defer { watcher?.close() }
        var changed = false
        if image.control & 8 != 0 {
            let key = Array("fuzz-\(image.control)".utf8)
            let value = [UInt8](repeating: image.control, count: Int(image.control % 23))
            if attempt({ try store.put(key, value) }).value(or: verified ? "a verified store refuses a put" : nil)
                != nil
            {
                model[key] = value
                changed = true
                if let got = attempt({ try store.get(key) }).value(or: verified ? "get after put fails" : nil) {
                    Fuzz.require(got == value, "get after put returns \(String(describing: got))")
                }
            }
            if let victim = pairs?.first?.key {
                let existed = attempt { try store.delete(victim) }.value(
                    or: verified ? "a verified store refuses a delete" : nil)
                if let existed {
                    Fuzz.require(existed, "delete of a scanned key says it did not exist")
                    model[victim] = nil
                    changed = true
                }
            }
        }
        if image.control & 16 != 0 {
            if attempt({ try store.compact() }).value(or: verified ? "a verified store fails to compact" : nil) != nil {
                changed = true
                // Verified only when the store was: compaction keeps what it can read, and reads do
                // not check everything `verify` does.
                expect(store, model, "after compaction", mustVerify: verified)
            }
        }
        guard changed else { return }
        if let watcher { expect(watcher, model, "in a second handle", mustVerify: false) }
        store.close()
        guard
            let reopened = attempt({ try Store(path: dir, options: options) }).value(or: "reopening after writes fails")
        else { return }
        defer { reopened.close() }
        expect(reopened, model, "after reopening", mustVerify: verified)
    }

    /// Scans (forward and reverse), gets and stats agree.
    static func checkReads(_ store: Store, _ pairs: [KeyValue], strict: Bool) {
        for i in pairs.indices.dropFirst() {
            Fuzz.require(pairs[i - 1].key.lexicographicallyPrecedes(pairs[i].key), "scan out of order at \(i)")
        }
        if let reverse = attempt({ try store.scan(ScanOptions(reverse: true)) }).value(
            or: strict ? "reverse scan fails" : nil)
        {
            Fuzz.require(reverse == pairs.reversed(), "reverse scan differs from the forward scan")
        }
        for pair in pairs.prefix(100) {
            if let value = attempt({ try store.get(pair.key) }).value(or: strict ? "get of a scanned key fails" : nil) {
                Fuzz.require(value == pair.value, "get and scan disagree on a key")
            }
        }
        // Several keys at once, in another order, with one the scan does not hold.
        let absent = Array("fuzz-absent".utf8)
        let probes = pairs.prefix(100).map(\.key).reversed() + (pairs.contains { $0.key == absent } ? [] : [absent])
        if let values = attempt({ try store.getMany(probes) }).value(or: strict ? "getMany of scanned keys fails" : nil)
        {
            let expected = probes.map { key in pairs.first { $0.key == key }?.value }
            Fuzz.require(values == expected, "getMany and scan disagree")
        }
        if let stats = attempt({ try store.stats() }).value(or: strict ? "stats fails" : nil) {
            Fuzz.require(stats.keys == pairs.count, "stats counts \(stats.keys) keys, scan \(pairs.count)")
        }
    }

    /// `Store.get(_:at:options:)`, which reads the files without a handle, agrees with the open
    /// handle's scan: each scanned key's value, and nil for a key the scan does not hold.
    static func checkOneShotGets(_ pairs: [KeyValue], _ options: StoreOptions, strict: Bool) {
        for pair in pairs.prefix(50) {
            if let value = attempt({ try Store.get(pair.key, at: directory, options: options) }).value(
                or: strict ? "a one-shot get of a scanned key fails" : nil)
            {
                Fuzz.require(value == pair.value, "a one-shot get and the scan disagree on a key")
            }
        }
        let absent = Array("fuzz-absent".utf8)
        if !pairs.contains(where: { $0.key == absent }),
            let value = attempt({ try Store.get(absent, at: directory, options: options) }).value(
                or: strict ? "a one-shot get of an absent key fails" : nil)
        {
            Fuzz.require(value == nil, "a one-shot get finds a key the scan does not hold")
        }
        // Several at once (one pass over the files), in another order, with the absent key.
        let probes = pairs.prefix(50).map(\.key).reversed() + (pairs.contains { $0.key == absent } ? [] : [absent])
        if let values = attempt({ try Store.getMany(probes, at: directory, options: options) }).value(
            or: strict ? "a one-shot getMany fails" : nil)
        {
            let expected = probes.map { key in pairs.first { $0.key == key }?.value }
            Fuzz.require(values == expected, "a one-shot getMany and the scan disagree")
        }
    }

    /// The store holds exactly `model`; and verifies, when `mustVerify`.
    static func expect(_ store: Store, _ model: [[UInt8]: [UInt8]], _ when: String, mustVerify: Bool) {
        guard let pairs = attempt({ try store.scan() }).value(or: "scan \(when) fails") else { return }
        let found = Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) })
        Fuzz.require(found == model, "\(when): \(found.count) keys where \(model.count) were expected, or other values")
        if mustVerify { _ = attempt { try store.verify() }.value(or: "verify \(when) fails") }
    }

    /// Runs `body`: a `LogbookError` is a result; any other error is a property violation.
    static func attempt<T>(_ body: () throws -> T, line: UInt = #line) -> Result<T, LogbookError> {
        do {
            let value = try body()
            Fuzz.note("line \(line): ok")
            return .success(value)
        } catch let error as LogbookError {
            Fuzz.note("line \(line): \(error)")
            if error.code == .corrupted {
                Fuzz.require(error.path?.hasPrefix(directory + "/") == true, "corrupted error names no file: \(error)")
            }
            return .failure(error)
        } catch {
            Fuzz.fail("threw a non-Logbook error: \(error)")
        }
    }
}

extension Result where Failure == LogbookError {
    /// The value; on failure nil, or a property violation when `mustSucceed` says why it must not fail.
    func value(or mustSucceed: String?) -> Success? {
        switch self {
        case .success(let value): return value
        case .failure(let error):
            if let mustSucceed { Fuzz.fail("\(mustSucceed): \(error)") }
            return nil
        }
    }
}
