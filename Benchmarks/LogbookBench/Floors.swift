#if canImport(Glibc)
    import Glibc
#endif

/// The machine's own limits, measured in the same run as the workloads so that ratios hold on a
/// noisy machine (WORKLOADS.md).
enum Floor: String, CaseIterable {
    /// write(2) of one 128-byte record per op to an O_APPEND file, no sync.
    case append
    /// write(2) of 128 bytes, then fdatasync, per op.
    case sync
    /// A hash-table lookup of the same keys in memory (`LookupTable`).
    case lookup

    var jsonKey: String { "\(rawValue)_ops_per_s" }
    static let recordSize = 128
}

/// One run of each floor.
enum FloorRun {
    /// ops/s of `count` 128-byte appends (key, value, zero padding of the first `count` puts).
    static func append(count: Int, data: FillData, directory: String) -> Double {
        appends(count: count, data: data, directory: directory, name: "append", sync: false)
    }

    /// ops/s of `count` 128-byte appends each followed by fdatasync.
    static func sync(count: Int, data: FillData, directory: String) -> Double {
        appends(count: count, data: data, directory: directory, name: "sync", sync: true)
    }

    /// ops/s of `count` 128-byte write(2)s to the O_APPEND file `NAME-floor`, with `sync` each
    /// followed by fdatasync.
    private static func appends(count: Int, data: FillData, directory: String, name: String, sync: Bool) -> Double {
        let records = records(count: count, data: data)
        let path = directory + "/\(name)-floor"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fail("open \(path): \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(path)
        }
        let start = Clock.now()
        records.withUnsafeBytes { raw in
            for i in 0..<count {
                let n = write(fd, raw.baseAddress! + i * Floor.recordSize, Floor.recordSize)
                if n != Floor.recordSize { fail("\(name) floor: write: \(String(cString: strerror(errno)))") }
                if sync && fdatasync(fd) != 0 {
                    fail("\(name) floor: fdatasync: \(String(cString: strerror(errno)))")
                }
            }
        }
        return Double(count) / Clock.seconds(start, Clock.now())
    }

    /// ops/s of looking up read_hot's queries in a `LookupTable` of the filled keys.
    static func lookup(data: FillData) -> Double {
        let table = LookupTable(keys: data.keys)
        var found = 0
        let start = Clock.now()
        for key in data.hotKeys where table.find(key) != nil { found += 1 }
        let elapsed = Clock.seconds(start, Clock.now())
        if found != data.hotKeys.count { fail("lookup floor: \(data.hotKeys.count - found) keys not found") }
        return Double(data.hotKeys.count) / elapsed
    }

    /// ops/s of read_hot's queries in a `ValueLookupTable` of the filled pairs, each found value
    /// copied out as a new array and released, as a get returns it. Not a floor of the goals
    /// (WORKLOADS.md's is the lookup above): read_hot's details compare gets with it.
    static func lookupReturningValues(data: FillData) -> Double {
        let table = ValueLookupTable(keys: data.keys, values: data.values)
        var found = 0
        var bytes = 0
        let start = Clock.now()
        for key in data.hotKeys {
            if let value = table.value(key) {
                found += 1
                bytes &+= value.count
            }
        }
        let elapsed = Clock.seconds(start, Clock.now())
        if found != data.hotKeys.count || bytes == 0 {
            fail("lookup returning values: \(data.hotKeys.count - found) keys not found")
        }
        return Double(data.hotKeys.count) / elapsed
    }

    private static func records(count: Int, data: FillData) -> [UInt8] {
        var records = [UInt8](repeating: 0, count: count * Floor.recordSize)
        for i in 0..<count {
            let key = data.keys[i % data.keys.count]
            let value = data.values[i % data.values.count]
            records.replaceSubrange(i * Floor.recordSize..<i * Floor.recordSize + key.count, with: key)
            let at = i * Floor.recordSize + key.count
            records.replaceSubrange(at..<at + value.count, with: value)
        }
        return records
    }
}
