#!/usr/bin/env bash
# Runs logbook-bench and the SQLite harness with the same sizes and prints them side by side.
#
#   Benchmarks/compare/run.sh [--quick] [--n N] [--runs R] [--dir DIR]
#
# Installs libsqlite3-dev with apt-get when sqlite3.h is missing, builds sqlite_bench.c with cc,
# builds logbook-bench in release mode, runs both (one after the other, never at once), writes
# their JSON files to .build/compare/, and prints `logbook-bench --compare`'s table: each
# workload's figure for both, and how many times better Logbook's is (>1: Logbook better).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.build/compare"
mkdir -p "$out"

if [ ! -f /usr/include/sqlite3.h ]; then
    echo "installing libsqlite3-dev" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q libsqlite3-dev >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y -q libsqlite3-dev >/dev/null
    }
fi

cc -O2 -Wall -o "$out/sqlite-bench" "$here/sqlite_bench.c" -lsqlite3 -lpthread
(cd "$root" && swift build -c release --product logbook-bench >&2)
bench="$root/.build/release/logbook-bench"

echo "running logbook-bench $*" >&2
(cd "$root" && "$bench" "$@" --json "$out/logbook.json" >"$out/logbook.txt")
echo "running sqlite-bench $*" >&2
"$out/sqlite-bench" "$@" --json "$out/sqlite.json" >"$out/sqlite.txt"

"$bench" --compare "$out/logbook.json" "$out/sqlite.json"
