#!/usr/bin/env bash
# Runs the multi-threaded tests under ThreadSanitizer, in a build folder of their own.
# Usage: Scripts/tsan.sh [FILTER]   (default: the suites that run threads)
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-GroupCommit|Thread|Compaction|Cache|Freshness|LockKeeping|SyncSharing|CrossHandle|ReadSlot|WithValue|GetMany}"
# Scripts/tsan.supp: reports about correct code that TSan cannot see is synchronized (why, there).
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/Scripts/tsan.supp" \
    swift test --sanitize=thread --scratch-path .build-tsan --filter "$filter"
