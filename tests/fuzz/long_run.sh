#!/bin/sh
# A long fuzz run: each target (every one, or those named) for SECONDS, one after another, at
# nice 19 with one job, so it can run beside other work (an input is a timeout after 60 s, not
# 10: a process at nice 19 can wait seconds for a core). Each corpus grows in OUT/NAME/corpus
# (seeded from tests/fuzz/NAME, which stays as committed); findings land in OUT/NAME/ as crash-*,
# leak-* or timeout-* (reproduce one with BUILD/bin/fuzz_NAME FILE), and the run's statistics
# (executions, coverage) at the end of OUT/NAME/fuzz-0.log.
#   tests/fuzz/long_run.sh BUILD SECONDS OUT [NAME...]
set -eu
[ $# -ge 3 ] || { echo "usage: $0 BUILD SECONDS OUT [NAME...]" >&2; exit 2; }
build=$(cd "$1" && pwd) seconds=$2
mkdir -p "$3"
out=$(cd "$3" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
shift 3
[ $# -gt 0 ] || set -- $(cd "$here" && ls -d */ | tr -d /)
export LSAN_OPTIONS="suppressions=$here/../lsan.supp" UBSAN_OPTIONS=print_stacktrace=1
status=0
for name in "$@"; do
    mkdir -p "$out/$name/corpus"
    cp -n "$here/$name/"* "$out/$name/corpus/"
    dict=
    [ ! -f "$here/$name.dict" ] || dict=-dict=$here/$name.dict
    echo "$name: $seconds s from $(date -u +%FT%TZ)"
    # -jobs=1: the fuzzing runs in a child that logs to fuzz-0.log in the directory it starts in.
    if ! (cd "$out/$name" && nice -n 19 "$build/bin/fuzz_$name" -jobs=1 \
        -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
        -artifact_prefix="$out/$name/" $dict "$out/$name/corpus" > /dev/null 2>&1); then
        echo "$name: FOUND something, see $out/$name/"
        status=1
    fi
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$out/$name/fuzz-0.log" || true
done
exit $status
