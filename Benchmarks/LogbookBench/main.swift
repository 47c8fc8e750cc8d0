// logbook-bench: the workloads of WORKLOADS.md against the machine's own floors, as a table and
// a JSON file. See Docs/Benchmarks.md.

let options = BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
if let worker = options.worker { Worker.run(worker) }
if let (logbook, other) = options.compare {
    print(Comparison.load(logbook, other).table(), terminator: "")
} else {
    let machine = Machine.describe(directory: options.directory)
    let start = Clock.now()
    let (floors, results) = Bench(options: options).run()
    let report = Report(
        machine: machine, options: options, floors: floors, results: results,
        goals: Goal.evaluate(results, floors: floors), seconds: Clock.seconds(start, Clock.now()))
    print(report.table(), terminator: "")
    if let path = options.jsonPath { Report.write(report.json(), to: path) }
}
