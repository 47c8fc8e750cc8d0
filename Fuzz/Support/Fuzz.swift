import Glibc

#if FUZZING
    import CFuzzDriver
#endif

/// Plumbing shared by the fuzz targets: property failures, and the replay `main` of a build
/// without libFuzzer.
public enum Fuzz {
    /// Stops the process with a message when a property does not hold. libFuzzer reports the abort
    /// as a crash and saves the input. (Not `assert`: fuzz builds are optimized.)
    public static func require(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        if !condition() { fail(message(), file: file, line: line) }
    }

    /// Reports a violated property and aborts.
    public static func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
        printError("fuzz property violated at \(file):\(line): \(message)")
        abort()
    }

    #if FUZZING
        /// The `main` of a target built with `-sanitize=fuzzer -DFUZZING`: hands the command line
        /// (libFuzzer's flags and corpus directories) and `testOneInput` to libFuzzer, which never
        /// returns but to exit.
        public static func runLibFuzzer(
            _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
        ) -> Never {
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
        }
    #endif

    /// The `main` of a target built without `-DFUZZING`: runs `body` once on each file named on
    /// the command line (a saved crash input, say), so a build with full debug checks replays it.
    public static func replay(_ name: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        let paths = CommandLine.arguments.dropFirst()
        if paths.isEmpty {
            print("\(name): a libFuzzer target; build and run it with Fuzz/run.sh. Given files, replays them.")
            return
        }
        for path in paths {
            guard let bytes = readFile(path) else {
                printError("\(name): cannot read \(path)")
                exit(2)
            }
            bytes.withUnsafeBytes(body)
            print("\(name): \(path): ok (\(bytes.count) bytes)")
        }
    }

    /// Whether FUZZ_VERBOSE is set: targets then narrate what they do (for replaying one input).
    public static let verbose = getenv("FUZZ_VERBOSE") != nil

    /// Narrates a step when FUZZ_VERBOSE is set.
    public static func note(_ message: @autoclosure () -> String) {
        if verbose { printError(message()) }
    }

    /// Writes `message` and a newline to standard error.
    public static func printError(_ message: String) {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return ferror(file) == 0 ? bytes : nil
    }
}
