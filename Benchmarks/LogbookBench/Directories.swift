#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under the bench's `--dir`, removed with everything in it by `remove()`.
struct ScratchDirectory {
    let path: String

    init(under base: String, _ name: String) {
        var template = Array("\(base)/logbook-bench-\(name)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            fail("cannot create a directory under \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// The path of a store directory inside (created by `Store` itself).
    var store: String { path + "/store" }

    func remove() { Directories.removeTree(path) }
}

enum Directories {
    /// Removes `path` and everything under it.
    static func removeTree(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
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
        }
        rmdir(path)
    }

    /// Sum of the sizes of the regular files under `path`.
    static func bytes(_ path: String) -> UInt64 {
        guard let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        var total: UInt64 = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            var info = stat()
            guard lstat(path + "/" + name, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: total += bytes(path + "/" + name)
            case S_IFREG: total += UInt64(info.st_size)
            default: break
            }
        }
        return total
    }

    /// Whether `path` is an existing directory.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
