#!/bin/sh
# One fuzz target as a test: every input of its committed corpus, then SECONDS of fresh fuzzing.
# New inputs and any crashing input (crash-*, leak-*, timeout-*) land in WORK, never in the
# corpus. libFuzzer exits non-zero on a crash, a leak, undefined behaviour (the build stops at
# the first), an input slower than 10 s, or a broken invariant (the targets abort).
#   run_fuzz_test.sh TARGET CORPUS WORK SECONDS [LIBFUZZER-OPTION...]
set -eu
target=$1 corpus=$2 work=$3 seconds=$4
shift 4
rm -rf "$work"
mkdir -p "$work/new"
exec "$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/" "$@" "$work/new" "$corpus"
