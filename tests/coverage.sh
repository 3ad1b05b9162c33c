#!/bin/sh
# Line coverage of core/, fcgi/ and runner/ by the unit tests and the end-to-end suite together.
#
#   tests/coverage.sh
#
# Builds build-coverage/ (-DTR_COVERAGE=ON: gcov instrumentation, GCC), runs the unit tests and
# the e2e suite (CTest's "e2e" test, which runs this build's programs), then prints gcovr's
# table of core/, fcgi/ and runner/ (cli/ and tests/ are left out), the lines covered per
# directory and in all, and writes build-coverage/coverage/index.html with every line. Exits
# non-zero when a suite fails or fewer than TR_COVERAGE_MIN percent (85) of the lines ran.
# Needs gcovr (Debian: apt-get install gcovr) and what the e2e suite needs; run it as root, as
# the e2e suite is.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-coverage
report=$build/coverage
minimum=${TR_COVERAGE_MIN:-85}

cmake -S "$root" -B "$build" -DTR_COVERAGE=ON -DTR_WERROR=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build" -j"$(nproc)"

# Counts left from an earlier run would add to this one's.
find "$build" -name '*.gcda' -delete

# The counts come from processes of two users: root (the unit tests, most e2e stacks) and uid
# 64000 (the e2e stack started as an unprivileged user: its launcher, handlers and runner). The
# commands that stacks run as uid 65533 are not our programs. libgcov creates a missing .gcda
# file as whichever user ends first, mode 0644, which the other may then not write, and 64000
# cannot create files in root's object directories at all. So every .gcda file is made here,
# empty and writable by all: libgcov takes an empty file for a new one and writes into it in
# place, keeping its owner and mode; the directories stay as they are.
#
# What a forked child runs before it execs or _exits (core/process.cpp's exec_child, the
# sandbox's mount preparation in runner/sandbox/idmap.cpp) counts as not run: the child's counts
# end with it. GCC wraps fork and exec to save them only in its GNU dialects, and this build is
# ISO C++17 like every other.
find "$build" -name '*.gcno' | while IFS= read -r notes; do
    data=${notes%.gcno}.gcda
    : >"$data"
    chmod 666 "$data"
done

failed=""
ctest --test-dir "$build" -L unit -j2 --output-on-failure || failed="$failed unit"
ctest --test-dir "$build" -L e2e --output-on-failure || failed="$failed e2e"

# A file still empty belongs to a program that never ran: gcov calls it "not a gcov data file".
find "$build" -name '*.gcda' -size 0 -delete

mkdir -p "$report"
gcovr --root "$root" --object-directory "$build" -j2 \
    --filter "$root/core/" --filter "$root/fcgi/" --filter "$root/runner/" \
    --json "$report/coverage.json" --html-details "$report/index.html" --txt - --sort-percentage

# "lines: 92.5% (6918 out of 7479)" of the counts gathered, within the files the regex $1
# matches; gcovr's status: 2 when fewer than $2 percent of those lines ran. Its table goes to a
# file of the report's: gcovr 5.2 replaces the file it writes, so "--txt /dev/null" would put a
# regular file in place of /dev/null (it did, on a machine shared with other test runs).
lines_covered() {
    status=0
    summary=$(gcovr --add-tracefile "$report/coverage.json" --root "$root" --filter "$1" \
        --print-summary --txt "$report/lines.txt" --fail-under-line "$2") || status=$?
    printf '%s\n' "$summary" | sed -n 's/^lines: //p'
    return "$status"
}
for directory in core fcgi runner; do
    echo "$directory/: $(lines_covered "$root/$directory/" 0)"
done
below=0
total=$(lines_covered "$root/" "$minimum") || below=$?
echo "core/, fcgi/ and runner/: $total (details: $report/index.html)"

if [ -n "$failed" ]; then
    echo "tests/coverage.sh: tests failed:$failed" >&2
    exit 1
fi
if [ "$below" -ne 0 ]; then
    echo "tests/coverage.sh: fewer than $minimum % of the lines ran, or gcovr failed" >&2
    exit 1
fi
