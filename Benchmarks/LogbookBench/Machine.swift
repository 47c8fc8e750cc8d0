#if canImport(Glibc)
    import Glibc
#endif

/// What the figures were measured on, for the report and the JSON file.
struct Machine {
    var cores: Int
    var cpu: String
    /// Filesystem of the `--dir` the stores live in.
    var filesystem: String
    var commit: String
    var date: String

    static func describe(directory: String) -> Machine {
        Machine(
            cores: sysconf(Int32(_SC_NPROCESSORS_ONLN)), cpu: cpuModel(),
            filesystem: filesystemName(directory),
            commit: GitCommit.find(from: currentDirectory()) ?? "unknown", date: isoDate())
    }

    /// The first `model name` of /proc/cpuinfo.
    static func cpuModel() -> String {
        for line in readText("/proc/cpuinfo").split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters()
            }
        }
        return "unknown"
    }

    /// The filesystem type of `path` as the kernel names it ("ext4", "xfs", "tmpfs", ...): the
    /// line of /proc/self/mountinfo whose device is `path`'s st_dev, else the longest mount point
    /// that contains it. (statfs is not reachable from Swift's Glibc module; mountinfo gives the
    /// same answer, with ext2/3/4 told apart.)
    static func filesystemName(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "unknown" }
        let dev = UInt64(info.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        let device = "\(major):\(minor)"
        var absolute = path
        if let resolved = realpath(path, nil) {
            absolute = String(cString: resolved)
            free(resolved)
        }
        var byPrefix: (length: Int, type: String)? = nil
        for line in readText("/proc/self/mountinfo").split(separator: "\n") {
            // id parent major:minor root mount-point options... - type source super-options
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, dash + 1 < fields.count else { continue }
            let type = fields[dash + 1]
            if fields[2] == device[...] { return String(type) }
            let mountPoint = String(fields[4])
            let contains = mountPoint == "/" || absolute == mountPoint || absolute.hasPrefix(mountPoint + "/")
            if contains && mountPoint.count > (byPrefix?.length ?? -1) {
                byPrefix = (mountPoint.count, String(type))
            }
        }
        return byPrefix?.type ?? "unknown"
    }

    static func currentDirectory() -> String {
        guard let buffer = getcwd(nil, 0) else { return "." }
        defer { free(buffer) }
        return String(cString: buffer)
    }

    /// Now, as ISO 8601 in UTC.
    static func isoDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// The commit checked out in a git work tree, read from the files (no `git` needed): `.git` is a
/// directory, or a file naming the git directory (a worktree); HEAD holds a sha or a ref, found
/// as a loose file or in `packed-refs`, in the git directory or its common directory.
enum GitCommit {
    static func find(from start: String) -> String? {
        var directory = start
        while true {
            let dotGit = directory + "/.git"
            if Directories.isDirectory(dotGit) { return resolve(gitDirectory: dotGit) }
            let pointer = readText(dotGit)
            if pointer.hasPrefix("gitdir:") {
                var target = String(pointer.dropFirst("gitdir:".count)).trimmingCharacters()
                if !target.hasPrefix("/") { target = directory + "/" + target }
                return resolve(gitDirectory: target)
            }
            guard let slash = directory.lastIndex(of: "/"), directory != "/" else { return nil }
            directory = slash == directory.startIndex ? "/" : String(directory[..<slash])
        }
    }

    static func resolve(gitDirectory: String) -> String? {
        var common = gitDirectory
        let commonText = readText(gitDirectory + "/commondir").trimmingCharacters()
        if !commonText.isEmpty {
            common = commonText.hasPrefix("/") ? commonText : gitDirectory + "/" + commonText
        }
        var head = readText(gitDirectory + "/HEAD").trimmingCharacters()
        for _ in 0..<8 {  // a ref may point to a ref
            guard head.hasPrefix("ref:") else { return isSha(head) ? head : nil }
            let ref = String(head.dropFirst(4)).trimmingCharacters()
            head = readText(gitDirectory + "/" + ref).trimmingCharacters()
            if head.isEmpty { head = readText(common + "/" + ref).trimmingCharacters() }
            if head.isEmpty { head = packed(ref, in: common) ?? packed(ref, in: gitDirectory) ?? "" }
        }
        return nil
    }

    private static func packed(_ ref: String, in directory: String) -> String? {
        for line in readText(directory + "/packed-refs").split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 && parts[1] == ref[...] { return String(parts[0]) }
        }
        return nil
    }

    private static func isSha(_ text: String) -> Bool {
        text.count >= 40 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}

/// The contents of a (small) text file, or "" when it cannot be read.
func readText(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    return String(decoding: Processes.readAll(fd), as: UTF8.self)
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines.
    func trimmingCharacters() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) })
        else {
            return ""
        }
        return String(self[first...last])
    }
}
