// Simulated power loss. `PowerLossFileLayer` runs the engine on the real disk and, beside it,
// keeps a `SimulatedDisk`: for every file the bytes known durable and the changes made since its
// last sync; for every directory the entries known durable and the entry changes since its last
// sync. After each operation that changes the disk it keeps a copy of that model, so a test can
// ask, for any operation boundary, for one of the states a power cut right there could leave,
// and materialize it in a fresh directory to open a Store on with the real file layer.
//
// The fault model (see Docs/Reliability.md):
// - a file's data is durable after fsync or fdatasync of that file; of the writes and
//   truncations made since, any prefix survives, the last write of it possibly torn (cut short)
//   or zero-filled (the file grew but the bytes never landed);
// - a directory entry (create, rename, unlink, mkdir) is durable after an fsync of its
//   directory; of the changes made since, any prefix survives (a rename is one atomic change);
//   an fsync of a file does not make its name durable;
// - files and directories are independent: a name may survive without its data and vice versa.
// The LOCK file's shared page is written through mmap, not through the layer: a crash state may
// hold a copy of the page as it was at that point, or zeros (the page is a notice board only).

@_spi(Testing) @testable import Logbook

/// The durable and not-yet-durable contents of a simulated file system.
struct SimulatedDisk: Sendable {
    enum Node: Sendable, Hashable {
        case file(Int)
        case directory
    }

    enum DataChange: Sendable {
        case write(offset: Int, bytes: [UInt8])
        case truncate(Int)
    }

    struct File: Sendable {
        var durable: [UInt8] = []
        var pending: [DataChange] = []
    }

    /// One atomic change of a directory: names set to a node or removed (nil).
    struct EntryChange: Sendable {
        var entries: [(name: String, node: Node?)]
    }

    struct Directory: Sendable {
        var durable: [String: Node] = [:]
        var pending: [EntryChange] = []
        var live: [String: Node] = [:]
    }

    var files: [Int: File] = [:]
    var directories: [String: Directory] = [:]
    private var nextInode = 1

    // MARK: building the model

    /// Adds `path` and everything under it, as it is on the real disk, as durable.
    mutating func importTree(_ path: String) {
        directories[path] = Directory()
        let names = (try? PosixFileLayer().listDirectory(path)) ?? []
        for name in names {
            let child = path + "/" + name
            let node: Node
            if PosixFileLayer().kind(child) == .directory {
                importTree(child)
                node = .directory
            } else {
                let inode = newInode()
                files[inode] = File(durable: Disk.read(child))
                node = .file(inode)
            }
            directories[path]!.durable[name] = node
            directories[path]!.live[name] = node
        }
    }

    private mutating func newInode() -> Int {
        defer { nextInode += 1 }
        return nextInode
    }

    static func split(_ path: String) -> (directory: String, name: String)? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    func lookup(_ path: String) -> Int? {
        guard let (directory, name) = Self.split(path),
            case .file(let inode)? = directories[directory]?.live[name]
        else { return nil }
        return inode
    }

    private mutating func change(_ directory: String, _ entries: [(name: String, node: Node?)]) {
        guard directories[directory] != nil else { return }  // outside the simulated tree
        for (name, node) in entries { directories[directory]!.live[name] = node }
        directories[directory]!.pending.append(EntryChange(entries: entries))
    }

    mutating func create(_ path: String) -> Int {
        let inode = newInode()
        files[inode] = File()
        if let (directory, name) = Self.split(path) { change(directory, [(name, .file(inode))]) }
        return inode
    }

    mutating func write(_ inode: Int, offset: Int, bytes: [UInt8]) {
        files[inode]?.pending.append(.write(offset: offset, bytes: bytes))
    }

    mutating func truncate(_ inode: Int, to size: Int) { files[inode]?.pending.append(.truncate(size)) }

    mutating func sync(_ inode: Int) {
        guard var file = files[inode] else { return }
        for change in file.pending { Self.apply(change, to: &file.durable) }
        file.pending = []
        files[inode] = file
    }

    mutating func rename(_ from: String, _ to: String) {
        guard let (directory, name) = Self.split(from), let (target, newName) = Self.split(to),
            let node = directories[directory]?.live[name]
        else { return }
        precondition(directory == target, "the engine renames within one directory")
        change(directory, [(newName, node), (name, nil)])
    }

    mutating func unlink(_ path: String) {
        guard let (directory, name) = Self.split(path) else { return }
        change(directory, [(name, nil)])
    }

    mutating func makeDirectory(_ path: String) {
        guard let (parent, name) = Self.split(path), directories[parent] != nil else { return }
        directories[path] = Directory()
        change(parent, [(name, .directory)])
    }

    mutating func syncDirectory(_ path: String) {
        guard var directory = directories[path] else { return }
        directory.durable = directory.live
        directory.pending = []
        directories[path] = directory
    }

    static func apply(_ change: DataChange, to bytes: inout [UInt8]) {
        switch change {
        case .write(let offset, let data):
            if bytes.count < offset + data.count {
                bytes += [UInt8](repeating: 0, count: offset + data.count - bytes.count)
            }
            bytes.replaceSubrange(offset..<offset + data.count, with: data)
        case .truncate(let size):
            if size < bytes.count {
                bytes.removeSubrange(size...)
            } else {
                bytes += [UInt8](repeating: 0, count: size - bytes.count)
            }
        }
    }

    // MARK: crash states

    /// How much of what was not synced survives a power cut.
    enum Policy: Sendable, Hashable, CustomStringConvertible {
        /// Only what was synced: every unsynced write and entry change is lost.
        case syncedOnly
        /// Everything, as if the cut came after the kernel wrote it all back.
        case everything
        /// Every unsynced entry change survives, no unsynced data does (a name without its data).
        case namesWithoutData
        /// Every unsynced data change survives, no unsynced entry change does.
        case dataWithoutNames
        /// Random prefixes, torn and zero-filled last writes, drawn from the seed.
        case random(UInt64)

        var description: String {
            switch self {
            case .syncedOnly: return "synced only"
            case .everything: return "everything"
            case .namesWithoutData: return "names without data"
            case .dataWithoutNames: return "data without names"
            case .random(let seed): return "random \(seed)"
            }
        }
    }

    /// A materializable state: directories and files by path relative to `root`.
    struct Image: Hashable {
        var directories: Set<String> = []
        var files: [String: [UInt8]] = [:]
    }

    /// One state a power cut could leave, chosen by `policy`, for the tree under `root`.
    /// `lockPage`: the shared page of LOCK to write over its first bytes, if any.
    func crashImage(root: String, policy: Policy, lockPage: [UInt8]?) -> Image {
        var random = SeededRandom(
            seed: { if case .random(let seed) = policy { return seed } else { return 0 } }())
        var image = Image()
        var chosen: [Int: [UInt8]] = [:]
        func fileBytes(_ inode: Int) -> [UInt8] {
            if let bytes = chosen[inode] { return bytes }
            let file = files[inode] ?? File()
            var bytes = file.durable
            let keep: Int
            switch policy {
            case .syncedOnly, .namesWithoutData: keep = 0
            case .everything, .dataWithoutNames: keep = file.pending.count
            case .random: keep = Int.random(in: 0...file.pending.count, using: &random)
            }
            for (i, change) in file.pending.prefix(keep).enumerated() {
                guard i == keep - 1, case .random = policy, case .write(let offset, let data) = change,
                    !data.isEmpty
                else {
                    Self.apply(change, to: &bytes)
                    continue
                }
                // The last surviving write: whole, torn, or zero-filled past a point.
                let cut = Int.random(in: 0..<data.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: Self.apply(change, to: &bytes)
                case 1: Self.apply(.write(offset: offset, bytes: Array(data[..<cut])), to: &bytes)
                default:
                    let zeros = [UInt8](repeating: 0, count: data.count - cut)
                    Self.apply(.write(offset: offset, bytes: Array(data[..<cut]) + zeros), to: &bytes)
                }
            }
            chosen[inode] = bytes
            return bytes
        }
        func visit(_ path: String, relative: String) {
            guard let directory = directories[path] else { return }
            var entries = directory.durable
            let keep: Int
            switch policy {
            case .syncedOnly, .dataWithoutNames: keep = 0
            case .everything, .namesWithoutData: keep = directory.pending.count
            case .random: keep = Int.random(in: 0...directory.pending.count, using: &random)
            }
            for change in directory.pending.prefix(keep) {
                for (name, node) in change.entries { entries[name] = node }
            }
            for name in entries.keys.sorted() {
                let childRelative = relative.isEmpty ? name : relative + "/" + name
                switch entries[name]! {
                case .directory:
                    image.directories.insert(childRelative)
                    visit(path + "/" + name, relative: childRelative)
                case .file(let inode):
                    var bytes = fileBytes(inode)
                    if name == "LOCK", let lockPage, bytes.count >= lockPage.count {
                        bytes.replaceSubrange(0..<lockPage.count, with: lockPage)
                    }
                    image.files[childRelative] = bytes
                }
            }
        }
        visit(root, relative: "")
        return image
    }
}

extension SimulatedDisk.Image {
    /// Creates the image's directories and files under `path` (which must not exist).
    func materialize(at path: String) {
        Disk.makeDirectory(path)
        for directory in directories.sorted() { Disk.makeDirectory(path + "/" + directory) }
        for (name, bytes) in files { Disk.write(path + "/" + name, bytes) }
    }

    /// A short description for failure messages: every file and its size.
    var summary: String {
        files.keys.sorted().map { "\($0):\(files[$0]!.count)" }.joined(separator: " ")
    }
}

/// The real file layer, recording every change to the disk in a `SimulatedDisk` (see above).
final class PowerLossFileLayer: FileLayer, Sendable {
    private let real = PosixFileLayer()
    /// The directory whose tree is simulated.
    let root: String
    /// The LOCK file whose shared page is captured after every operation.
    let lockPath: String

    private struct State {
        var disk = SimulatedDisk()
        var inodes: [Int32: Int] = [:]
        var names: [Int32: String] = [:]
        /// `disks[k]`: the model after the first k recorded operations.
        var disks: [SimulatedDisk] = []
        /// What operation k did, for failure messages.
        var events: [String] = []
        /// The LOCK page after operation k (nil while there is no LOCK).
        var lockPages: [[UInt8]?] = []
        /// Set by `freeze()`: later operations are not recorded.
        var frozen = false
        var faults: [Fault] = []
        /// Faults that fired: the operation boundary where, and what failed.
        var fired: [(boundary: Int, what: String)] = []
    }

    /// The operations a fault can fail: they fail with EIO without touching the disk or the model.
    enum FaultOperation: String, Sendable {
        case sync, syncDirectory, rename, write
    }

    private struct Fault {
        var operation: FaultOperation
        var file: String
        var skip: Int
    }
    /// Behind a pthread-backed lock, not `Synchronization.Mutex`: ThreadSanitizer reports false
    /// races inside the latter, and handles on several threads share this layer.
    private let state: Locked<State>

    /// Simulates the tree under `root`, whose present contents count as durable; the store's
    /// LOCK file is `root/store/LOCK` unless `lockPath` says otherwise.
    init(root: String, lockPath: String? = nil) {
        self.root = root
        self.lockPath = lockPath ?? root + "/store/LOCK"
        var initial = State()
        initial.disk.importTree(root)
        initial.disks = [initial.disk]
        initial.lockPages = [nil]
        state = Locked(initial)
    }

    /// Operations recorded so far: the operation boundaries are 0...operationCount.
    var operationCount: Int { state.withLock { $0.events.count } }

    /// The model after the first `count` operations, and the LOCK page at that point.
    func disk(after count: Int) -> (disk: SimulatedDisk, lockPage: [UInt8]?) {
        state.withLock { ($0.disks[count], $0.lockPages[count]) }
    }

    /// What operation `index` (0-based) was.
    func event(_ index: Int) -> String { state.withLock { $0.events[index] } }

    /// Stops recording: later operations still reach the disk but not the model.
    func freeze() { state.withLock { $0.frozen = true } }

    /// Arms a fault: the call of `operation` on `file` (last path component) after `skip` such
    /// calls succeeded fails with EIO, changing nothing.
    func fail(_ operation: FaultOperation, of file: String, skip: Int = 0) {
        state.withLock { $0.faults.append(Fault(operation: operation, file: file, skip: skip)) }
    }

    /// The faults that fired so far: the boundary (operations recorded before it) and the call.
    var fired: [(boundary: Int, what: String)] { state.withLock { $0.fired } }

    private func inject(_ operation: FaultOperation, _ file: String) throws(SystemError) {
        let fires = state.withLock { s -> Bool in
            guard let i = s.faults.firstIndex(where: { $0.operation == operation && $0.file == file }) else {
                return false
            }
            if s.faults[i].skip > 0 {
                s.faults[i].skip -= 1
                return false
            }
            s.faults.remove(at: i)
            s.fired.append((s.events.count, "\(operation.rawValue) \(file)"))
            return true
        }
        if fires {
            throw SystemError(operation: "injected \(operation.rawValue)", path: file, errno: SystemError.eio)
        }
    }

    private func record(_ description: String, _ change: (inout SimulatedDisk) -> Void) {
        let page = readLockPage()
        state.withLock { s in
            guard !s.frozen else { return }
            change(&s.disk)
            s.disks.append(s.disk)
            s.events.append(description)
            s.lockPages.append(page)
        }
    }

    private func readLockPage() -> [UInt8]? {
        let path = lockPath
        guard let fd = try? real.open(path, .readOnly) else { return nil }
        defer { real.close(fd) }
        return try? real.readUpTo(fd, count: 4096, at: 0, path: path)
    }

    private static func name(_ path: String) -> String {
        SimulatedDisk.split(path)?.name ?? path
    }

    func open(_ path: String, _ mode: OpenMode) throws(SystemError) -> Int32 {
        let existed = real.kind(path) != nil
        let fd = try real.open(path, mode)
        let creates = !existed && (mode == .createReadWrite || mode == .createExclusive)
        if creates { record("create \(Self.name(path))") { _ = $0.create(path) } }
        state.withLock { s in
            s.inodes[fd] = s.disk.lookup(path)
            s.names[fd] = Self.name(path)
        }
        return fd
    }

    func close(_ fd: Int32) {
        state.withLock { s in
            s.inodes[fd] = nil
            s.names[fd] = nil
        }
        real.close(fd)
    }

    private func target(_ fd: Int32) -> (inode: Int?, name: String) {
        state.withLock { ($0.inodes[fd], $0.names[fd] ?? "fd \(fd)") }
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError)
        -> Int
    {
        try real.read(fd, into: buffer, at: offset)
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemError) -> Int {
        let (inode, name) = target(fd)
        try inject(.write, name)
        let n = try real.write(fd, from: buffer, at: offset)
        if let inode, n > 0 {
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            record("write \(name) @\(offset) +\(n)") { $0.write(inode, offset: Int(offset), bytes: bytes) }
        }
        return n
    }

    func sync(_ fd: Int32, dataOnly: Bool) throws(SystemError) {
        let (inode, name) = target(fd)
        try inject(.sync, name)
        try real.sync(fd, dataOnly: dataOnly)
        if let inode { record("\(dataOnly ? "fdatasync" : "fsync") \(name)") { $0.sync(inode) } }
    }

    func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) {
        try real.truncate(fd, to: size)
        let (inode, name) = target(fd)
        if let inode { record("truncate \(name) to \(size)") { $0.truncate(inode, to: Int(size)) } }
    }

    func size(_ fd: Int32) throws(SystemError) -> UInt64 { try real.size(fd) }
    func linkCount(_ fd: Int32) throws(SystemError) -> UInt64 { try real.linkCount(fd) }

    func rename(_ from: String, _ to: String) throws(SystemError) {
        try inject(.rename, Self.name(to))
        try real.rename(from, to)
        record("rename \(Self.name(from)) -> \(Self.name(to))") { $0.rename(from, to) }
    }

    func unlink(_ path: String) throws(SystemError) {
        try real.unlink(path)
        record("unlink \(Self.name(path))") { $0.unlink(path) }
    }

    func makeDirectory(_ path: String) throws(SystemError) {
        try real.makeDirectory(path)
        record("mkdir \(Self.name(path))") { $0.makeDirectory(path) }
    }

    func syncDirectory(_ path: String) throws(SystemError) {
        try inject(.syncDirectory, Self.name(path))
        try real.syncDirectory(path)
        record("fsync dir \(Self.name(path))") { $0.syncDirectory(path) }
    }

    func kind(_ path: String) -> FileKind? { real.kind(path) }
    func listDirectory(_ path: String) throws(SystemError) -> [String] { try real.listDirectory(path) }
    func tryLock(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try real.tryLock(fd, byte: byte) }
    func unlock(_ fd: Int32, byte: Int64) { real.unlock(fd, byte: byte) }
    func isLocked(_ fd: Int32, byte: Int64) throws(SystemError) -> Bool { try real.isLocked(fd, byte: byte) }
    func mapShared(_ fd: Int32, length: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        try real.mapShared(fd, length: length)
    }
    func unmap(_ address: UnsafeMutableRawPointer, length: Int) { real.unmap(address, length: length) }
}
