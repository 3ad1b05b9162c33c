#!/usr/bin/python3
"""clang-tidy (the repository's .clang-tidy) over every .cpp of core/, fcgi/, runner/ and cli/
that the build compiles, with its compile_commands.json, in parallel (Debian's run-clang-tidy,
one clang-tidy per core). Fails on any finding: .clang-tidy makes every warning an error.

usage: clang_tidy.py SOURCE_DIR BUILD_DIR
Exits 77 (CTest: skipped) when clang-tidy is not installed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

LAYERS = ("core", "fcgi", "runner", "cli", "client", "bench")  # bench: the probe
SKIPPED = 77


def sources(build_dir, pattern):
    """The files of compile_commands.json that the pattern selects."""
    with open(build_dir / "compile_commands.json", encoding="utf-8") as database:
        entries = json.load(database)
    files = {os.path.join(entry["directory"], entry["file"]) for entry in entries}
    return sorted(name for name in files if pattern.search(name))


def findings_only(output, clang_tidy):
    """run-clang-tidy's output without the command line it prints for every file, and without
    colours (it always asks clang-tidy for them)."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    return "\n".join(line for line in output.splitlines()
                     if not line.startswith(clang_tidy) and line.strip()
                     and not re.fullmatch(r"\d+ warnings? generated\.", line))


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source_dir, build_dir = Path(argv[1]).resolve(), Path(argv[2]).resolve()
    clang_tidy, run_clang_tidy = shutil.which("clang-tidy"), shutil.which("run-clang-tidy")
    if not clang_tidy or not run_clang_tidy:
        print("clang-tidy: skipped: clang-tidy is not installed (Debian package clang-tidy)")
        return SKIPPED
    # The sources as the build names them (absolute), not the generated ones in the build tree.
    regex = "^" + re.escape(str(source_dir)) + "/(" + "|".join(LAYERS) + r")/.*\.cpp$"
    selected = sources(build_dir, re.compile(regex))
    if not selected:  # a check of nothing would pass for the wrong reason
        print(f"clang-tidy: no source of {', '.join(LAYERS)} in "
              f"{build_dir}/compile_commands.json", file=sys.stderr)
        return 1
    jobs = os.cpu_count() or 1
    started = time.monotonic()
    run = subprocess.run(
        [run_clang_tidy, "-clang-tidy-binary", clang_tidy, "-p", str(build_dir), "-j", str(jobs),
         "-quiet", regex],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.monotonic() - started
    found = findings_only(run.stdout, clang_tidy)
    if found:
        print(found)
    verdict = "clean" if run.returncode == 0 else "FINDINGS (every one is an error; see above)"
    print(f"clang-tidy: {len(selected)} files, {jobs} jobs, {seconds:.0f} s: {verdict}")
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
