#if canImport(Glibc)
    import Glibc
#endif

/// The command line of `logbook-bench`.
struct BenchOptions {
    static let usage = """
        usage: logbook-bench [--quick] [--n N] [--runs R] [--dir DIR] [--only NAME,...] [--json FILE]
               logbook-bench --compare LOGBOOK.json OTHER.json

          --n N          keys for the fill/read/scan workloads (default 200000); the sync workloads
                         scale with it (fill_sync N/100, 250 commits per thread/process at 200000)
          --runs R       runs of each workload; the median is reported (default 3)
          --dir DIR      where the temporary stores go (default $TMPDIR or /tmp)
          --only LIST    only these workloads (names of WORKLOADS.md; concurrent_sync and
                         multiprocess_sync select every T / P)
          --quick        a smaller run (N=20000, under 30 s) to check that everything works
          --json FILE    also write the results as JSON (format in WORKLOADS.md)
          --compare A B  print two JSON result files side by side (Benchmarks/compare/run.sh)

        """

    /// Every workload, in report order.
    static let workloads = [
        "fill_nosync", "fill_batch", "fill_sync", "read_hot", "read_miss", "scan_all", "concurrent_sync",
        "multiprocess_sync", "reopen", "recover", "compact", "disk_bytes", "rss", "task_create", "task_list",
        "claim_race", "cli_get", "cli_put",
    ]

    var n = 200_000
    var runs = 3
    var directory: String = {
        if let value = getenv("TMPDIR"), value.pointee != 0 { return String(cString: value) }
        return "/tmp"
    }()
    var only: Set<String>? = nil
    var quick = false
    var jsonPath: String? = nil
    var compare: (String, String)? = nil
    /// `--worker NAME ...`: the hidden mode of the bench's own child processes.
    var worker: [String]? = nil

    static func parse(_ arguments: [String]) -> BenchOptions {
        var options = BenchOptions()
        var explicitN = false
        var rest = arguments[...]
        func value(_ flag: String) -> String {
            guard let next = rest.popFirst() else { usageError("\(flag) needs a value") }
            return next
        }
        func number(_ flag: String) -> Int {
            let text = value(flag)
            guard let n = Int(text), n > 0 else {
                usageError("\(flag) needs a positive number, not '\(text)'")
            }
            return n
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--worker":
                options.worker = Array(rest)
                return options
            case "--n":
                options.n = number(argument)
                explicitN = true
            case "--runs": options.runs = number(argument)
            case "--dir": options.directory = value(argument)
            case "--json": options.jsonPath = value(argument)
            case "--quick": options.quick = true
            case "--only":
                let names = value(argument).split(separator: ",").map { name -> String in
                    // concurrent_sync_t8 and multiprocess_sync_p4 select their whole workload.
                    for workload in ["concurrent_sync", "multiprocess_sync"] where name.hasPrefix(workload) {
                        return workload
                    }
                    return String(name)
                }
                for name in names where !workloads.contains(name) {
                    usageError("unknown workload '\(name)'; known: \(workloads.joined(separator: ", "))")
                }
                options.only = Set(names)
            case "--compare":
                let first = value(argument)
                options.compare = (first, value(argument))
            case "-h", "--help":
                print(usage, terminator: "")
                exit(0)
            default:
                usageError("unknown argument '\(argument)'")
            }
        }
        if options.quick && !explicitN { options.n = 20_000 }
        if !Directories.isDirectory(options.directory) {
            usageError("--dir \(options.directory) is not a directory")
        }
        return options
    }

    /// Whether `workload` is part of this run.
    func selected(_ workload: String) -> Bool { only?.contains(workload) ?? true }

    var sizes: Sizes { Sizes(n: n) }
}

/// The sizes of every workload, from `--n` (WORKLOADS.md's figures at N = 200000).
struct Sizes {
    /// Puts of fill_nosync and fill_batch; gets of read_hot and read_miss; keys of scan_all,
    /// reopen, recover, disk_bytes and rss.
    var n: Int
    var batch = 1000
    /// Puts of fill_sync.
    var syncPuts: Int
    /// Commits per thread of concurrent_sync, per process of multiprocess_sync.
    var perWriter: Int
    var threads = [1, 2, 4, 8]
    var processes = 4
    var reopens = 5
    /// Runs of the CLI per figure of cli_get and cli_put.
    var cliRuns = 40

    init(n: Int) {
        self.n = n
        syncPuts = max(50, n / 100)
        perWriter = max(25, n / 800)
    }
}

func usageError(_ message: String) -> Never {
    progress("logbook-bench: \(message)\n\n" + BenchOptions.usage)
    exit(2)
}
