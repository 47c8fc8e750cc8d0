#!/usr/bin/env bash
# The long versions of the crash and power-loss tests (see Docs/Reliability.md). CI runs each
# once with small counts; this script runs them for ROUNDS rounds with large ones and a fresh
# seed each round, and prints how to replay a failing round.
#
# Usage: Scripts/crash-hunt.sh [ROUNDS]          (default 5)
# Environment (all optional):
#   LOGBOOK_POWERLOSS_STATES  random crash states per operation boundary (CI: 3; here 60)
#   LOGBOOK_POWERLOSS_WORKLOADS  random workloads swept per round (CI: 1; here 20)
#   LOGBOOK_CRASH_KILLS       SIGKILLs per durability mode in the process crash tests (CI: 25; here 300)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
states="${LOGBOOK_POWERLOSS_STATES:-60}"
kills="${LOGBOOK_CRASH_KILLS:-300}"
workloads="${LOGBOOK_POWERLOSS_WORKLOADS:-20}"

swift build --build-tests
for round in $(seq 1 "$rounds"); do
    seed=$(( (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ))
    echo "== round $round/$rounds: power loss (seed $seed, $states random states per boundary, $workloads random workloads)"
    if ! LOGBOOK_POWERLOSS_SEED="$seed" LOGBOOK_POWERLOSS_STATES="$states" LOGBOOK_POWERLOSS_WORKLOADS="$workloads" \
        swift test --skip-build --filter 'PowerLossTests'; then
        echo "replay: LOGBOOK_POWERLOSS_SEED=$seed LOGBOOK_POWERLOSS_STATES=$states" \
            "LOGBOOK_POWERLOSS_WORKLOADS=$workloads swift test --filter PowerLossTests"
        exit 1
    fi
    echo "== round $round/$rounds: SIGKILL crash tests (seed $seed, $kills kills per mode)"
    if ! LOGBOOK_CRASH_SEED="$seed" LOGBOOK_CRASH_KILLS="$kills" \
        swift test --skip-build --filter 'LogbookCrashTests|CompactionCrashTests'; then
        echo "replay: LOGBOOK_CRASH_SEED=$seed LOGBOOK_CRASH_KILLS=$kills swift test --filter LogbookCrashTests"
        exit 1
    fi
done
echo "crash hunt: $rounds rounds passed"
