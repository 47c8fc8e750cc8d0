// logbook: the command-line interface to a Logbook store. See Docs/CLI.md.

Terminal.exit(CLI.run(Terminal.arguments(), environment: Terminal.environment))
