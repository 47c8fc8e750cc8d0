#!/usr/bin/env bash
# Runs logbook-bench and the SQLite harness with the same sizes and prints them side by side.
#
#   Benchmarks/compare/run.sh [--quick] [--n N] [--runs R] [--dir DIR]
#
# Installs libsqlite3-dev with apt-get when sqlite3.h is missing, builds sqlite_bench.c with cc,
# builds logbook-bench in release mode, then runs R rounds (default 3), each one run of each
# program (never both at once; which goes first alternates), so that a slow spell of a shared
# disk hits both. Keeps every round's JSON and text output in .build/compare/ and prints
# `logbook-bench --compare`'s table: each workload's median over the rounds for both programs,
# and how many times better Logbook's is (>1: Logbook better).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.build/compare"
mkdir -p "$out"
rm -f "$out"/logbook-*.json "$out"/sqlite-*.json "$out"/*.txt

runs=3
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --n|--dir) args+=("$1" "$2"); shift 2 ;;
        --quick) args+=("$1"); shift ;;
        *) echo "usage: $0 [--quick] [--n N] [--runs R] [--dir DIR]" >&2; exit 2 ;;
    esac
done

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

run_logbook() {
    echo "round $1/$runs: logbook-bench ${args[*]:-}" >&2
    (cd "$root" && "$bench" ${args[@]+"${args[@]}"} --runs 1 --json "$out/logbook-$1.json" >"$out/logbook-$1.txt")
}
run_sqlite() {
    echo "round $1/$runs: sqlite-bench ${args[*]:-}" >&2
    "$out/sqlite-bench" ${args[@]+"${args[@]}"} --runs 1 --json "$out/sqlite-$1.json" >"$out/sqlite-$1.txt"
}

logbook_files=()
sqlite_files=()
for round in $(seq 1 "$runs"); do
    if [ $((round % 2)) -eq 1 ]; then run_logbook "$round"; run_sqlite "$round"
    else run_sqlite "$round"; run_logbook "$round"; fi
    logbook_files+=("$out/logbook-$round.json")
    sqlite_files+=("$out/sqlite-$round.json")
done

join() { local IFS=,; echo "$*"; }
"$bench" --compare "$(join "${logbook_files[@]}")" "$(join "${sqlite_files[@]}")"
