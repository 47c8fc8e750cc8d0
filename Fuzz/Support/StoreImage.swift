import Glibc

/// The files of a store directory packed into one fuzz input, and unpacked again:
/// a control byte, then for each file a name tag (index into `names`, modulo its count), a u16
/// length, and the bytes. A later file with the same name replaces an earlier one.
public struct StoreImage {
    /// The file names a store directory can hold (those an open reads, and leftovers it deletes).
    public static let names = [
        "LOCK", "MANIFEST", "log-1.wal", "log-2.wal", "log-3.wal", "snapshot-1.dat", "snapshot-1.idx",
        "snapshot-2.dat", "snapshot-2.idx", "MANIFEST.tmp", "log-1.wal.tmp", "snapshot-3.dat.tmp",
    ]

    public var control: UInt8
    public var files: [(name: String, bytes: [UInt8])]

    public init(control: UInt8, files: [(name: String, bytes: [UInt8])]) {
        self.control = control
        self.files = files
    }

    public init(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        control = input.byte()
        var byName: [String: [UInt8]] = [:]
        var order: [String] = []
        while input.remaining > 0 {
            let name = Self.names[Int(input.byte()) % Self.names.count]
            let bytes = input.take(Int(input.integer(UInt16.self)))
            if byName[name] == nil { order.append(name) }
            byName[name] = bytes
        }
        files = order.map { ($0, byName[$0]!) }
    }

    public func encoded() -> [UInt8] {
        var out = [control]
        for file in files {
            guard let tag = Self.names.firstIndex(of: file.name) else { continue }
            out.append(UInt8(tag))
            out.appendLE(UInt16(min(file.bytes.count, 0xFFFF)))
            out += file.bytes.prefix(0xFFFF)
        }
        return out
    }

    /// Rewrites every checksum in every file (see `Fixup`), so mutations reach the structure checks.
    public mutating func fixChecksums() {
        for i in files.indices {
            let name = files[i].name
            if name.hasPrefix("log-") && name.hasSuffix(".wal") {
                Fixup.fileHeader(&files[i].bytes)
                Fixup.logRecords(&files[i].bytes, from: 32)
            } else if name.hasSuffix(".dat") {
                Fixup.fileHeader(&files[i].bytes)
                Fixup.snapshotBlocks(&files[i].bytes, from: 32)
            } else if name.hasSuffix(".idx") {
                Fixup.snapshotIndex(&files[i].bytes)
            } else if name == "MANIFEST" {
                Fixup.manifest(&files[i].bytes)
            }
        }
    }

    /// Reads the files of `directory` whose names `names` holds.
    public static func read(directory: String, control: UInt8) -> StoreImage {
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names {
            if let bytes = Fuzz.readFile(directory + "/" + name) { files.append((name, bytes)) }
        }
        return StoreImage(control: control, files: files)
    }

    /// Empties `directory` (regular files only) and writes the image's files into it.
    public func write(to directory: String) {
        Self.empty(directory)
        for file in files {
            guard let handle = fopen(directory + "/" + file.name, "wb") else { Fuzz.fail("cannot create \(file.name)") }
            let written = file.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
            fclose(handle)
            Fuzz.require(written == file.bytes.count, "short write of \(file.name)")
        }
    }

    public static func empty(_ directory: String) {
        guard let dir = opendir(directory) else { return }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names { unlink(directory + "/" + name) }
    }
}
