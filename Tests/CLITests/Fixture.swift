/// A temporary directory with a store path in it, and shorthands to run `logbook` on that store.
struct Fixture {
    let directory = TemporaryDirectory()

    var store: String { directory.store }

    /// `logbook --store STORE ARGS...`
    func run(_ arguments: String..., stdin: [UInt8] = [], env: [String: String] = [:]) -> CLIResult {
        CLI.run(["--store", store] + arguments, stdin: stdin, env: env)
    }

    /// `logbook --store STORE --json ARGS...`
    func json(_ arguments: String..., stdin: [UInt8] = []) -> CLIResult {
        CLI.run(["--store", store, "--json"] + arguments, stdin: stdin)
    }

    /// The log file of the store.
    var log: String { store + "/log-1.wal" }
}

/// Runs `body` with a fresh fixture, removing its directory afterwards.
func withFixture(_ body: (Fixture) throws -> Void) rethrows {
    let fixture = Fixture()
    defer { fixture.directory.remove() }
    try body(fixture)
}
