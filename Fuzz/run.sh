#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a bounded time; exits non-zero on any crash,
# property violation, leak, time-out or out-of-memory.
#
#   Fuzz/run.sh [SECONDS] [TARGET...]     SECONDS per target (default 20); TARGET names as below
#
# Environment:
#   FUZZ_JOBS       targets run at once (default: the number of CPUs)
#   FUZZ_SANITIZE   -sanitize= value (default fuzzer,address; "fuzzer" alone runs ~2x faster)
#   FUZZ_CONFIG     release (default) or debug (adds the standard library's debug checks, slower)
#   FUZZ_ARGS       extra libFuzzer flags for every target (e.g. "-max_len=65536")
#
# Each target starts from its checked-in seeds (Fuzz/corpus/NAME) and keeps what it finds in
# .build-fuzz/corpus/NAME (git-ignored), so repeated local runs go deeper. A crash input is saved
# as .build-fuzz/artifacts/NAME-crash-...; replay it with the plain build:
#   swift build --product NAME && .build/debug/NAME FILE       (FUZZ_VERBOSE=1 narrates)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-20}
shift || true
ALL=(fuzz-log-records fuzz-log-payload fuzz-segment-header fuzz-manifest fuzz-snapshot-index
    fuzz-snapshot-block fuzz-lock-holder fuzz-store-open fuzz-agent-records fuzz-json-line)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
SANITIZE=${FUZZ_SANITIZE:-fuzzer,address}
CONFIG=${FUZZ_CONFIG:-release}
SCRATCH=.build-fuzz
OUT=$SCRATCH/$CONFIG

start=$(date +%s)
mkdir -p "$SCRATCH/artifacts" "$SCRATCH/logs"
for target in "${TARGETS[@]}"; do
    if ! swift build -c "$CONFIG" --scratch-path "$SCRATCH" -Xswiftc "-sanitize=$SANITIZE" -Xswiftc -DFUZZING \
        --product "$target" >"$SCRATCH/logs/build-$target.log" 2>&1 || [ ! -x "$OUT/$target" ]; then
        cat "$SCRATCH/logs/build-$target.log" >&2
        echo "fuzz: building $target failed" >&2
        exit 1
    fi
done
echo "fuzz: built ${#TARGETS[@]} targets in $(($(date +%s) - start)) s"
# The store target writes a store directory per input: in memory when /dev/shm is there.
TMPROOT=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/logbook-fuzz.XXXXXX")
trap 'rm -rf "$TMPROOT"' EXIT

run_one() {
    local target=$1
    local corpus=$SCRATCH/corpus/$target
    local log=$SCRATCH/logs/$target.log
    mkdir -p "$corpus" "$TMPROOT/$target"
    # -rss_limit_mb: ASan's quarantine counts; -timeout: one input taking 10 s is a hang.
    # malloc_context_size=0: no stack trace per allocation (2-3x faster; replay a crash for one).
    # SWIFT_BACKTRACE=enable=no: libFuzzer reports the crash; Swift's backtracer trips ASan.
    # shellcheck disable=SC2086
    if TMPDIR=$TMPROOT/$target ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0} \
        SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no} "$OUT/$target" "$corpus" "Fuzz/corpus/$target" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$SCRATCH/artifacts/$target-" -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1; then
        local runs execs
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        echo "fuzz: $target: ok, $runs runs in ${SECONDS_EACH} s ($execs/s)"
        echo ok >"$TMPROOT/$target.result"
    else
        echo "fuzz: $target: FAILED (log: $log)" >&2
        grep -E "fuzz property violated|ERROR:|SUMMARY:|Fatal error|Test unit written" "$log" | head -20 >&2
        return 1
    fi
}

# Each run leaves TMPROOT/NAME.result saying "ok" (statuses of long-gone background jobs are
# not to be trusted to `wait` once PIDs wrap around).
for target in "${TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
    run_one "$target" &
done
wait
failed=0
for target in "${TARGETS[@]}"; do
    if [ "$(cat "$TMPROOT/$target.result" 2>/dev/null)" != ok ]; then
        failed=1
        echo "fuzz: $target failed" >&2
    fi
done
echo "fuzz: done in $(($(date +%s) - start)) s"
exit $failed
