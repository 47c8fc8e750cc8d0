import Testing

@Suite struct OperationsHelpTests {
    @Test func helpForEachOperationsCommand() {
        let synopses = [
            "export": "[--prefix P] [--out FILE]", "import": "FILE [--batch N]", "backup": "DIR",
            "dump": "[--manifest] [--snapshot] [--log] [--values]",
            "watch": "[--prefix P] [--since SEQ] [--values] [--count N]",
        ]
        let full = CLI.run(["help"])
        for (name, synopsis) in synopses {
            let help = CLI.run(["help", name])
            #expect(help.status == 0)
            #expect(help.out.hasPrefix("usage: logbook [global options] \(name) \(synopsis)\n"))
            #expect(help.out.contains("\nexit codes: 0 ok"))
            #expect(help.out.contains("\nexamples:\n  logbook "))
            #expect(CLI.run([name, "--help"]).out == help.out)
            #expect(full.out.contains("\n  \(name) \(synopsis)\n"))
        }
    }

    @Test func unknownCommandSuggestsTheNearest() {
        let cases = ["wathc": "watch", "bakup": "backup", "exprot": "export", "dmp": "dump", "imp": "import"]
        for (typed, meant) in cases {
            let result = CLI.run([typed])
            #expect(result.status == 2)
            #expect(
                result.err
                    == "logbook: unknown command '\(typed)'; did you mean `logbook \(meant)`? run `logbook help` for the list\n"
            )
        }
        #expect(
            CLI.run(["xyzzy"]).err == "logbook: unknown command 'xyzzy'; run `logbook help` for the list\n")
    }

    @Test func badOptionValuesExit2() {
        withFixture { f in
            #expect(f.run("put", "k", "v").status == 0)
            for arguments in [
                ["watch", "--since", "-1"], ["watch", "--count", "0"], ["watch", "--since", "x"],
                ["import", "f", "--batch", "x"], ["backup"], ["export", "--out", ""], ["dump", "--values=1"],
            ] {
                let result = CLI.run(["--store", f.store] + arguments)
                #expect(result.status == 2, "\(arguments): \(result.err)")
            }
        }
    }
}
