#!/usr/bin/python3
"""clang_tidy.py can fail: with the repository's .clang-tidy, a planted finding in a small tree
of its own fails the check and is named, and the same tree without it passes.

usage: clang_tidy_test.py [unittest options]   (exits 77 when clang-tidy is not installed)
"""

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = Path(__file__).resolve().with_name("clang_tidy.py")

# Seven parameters: over readability-function-size's six. No #include, so it checks in a blink.
PLANTED = "int planted(int a, int b, int c, int d, int e, int f, int g) {\n" \
          "    return a + b + c + d + e + f + g;\n}\n"
CLEAN = "int clean(int a, int b) {\n    return a + b;\n}\n"


class ClangTidy(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="clang-tidy-")
        self.tree = Path(self.directory.name)
        shutil.copy(ROOT / ".clang-tidy", self.tree / ".clang-tidy")
        (self.tree / "core").mkdir()
        (self.tree / "build").mkdir()
        (self.tree / "build" / "compile_commands.json").write_text(json.dumps([{
            "directory": str(self.tree),
            "command": "/usr/bin/c++ -std=c++17 -c core/source.cpp -o source.o",
            "file": "core/source.cpp",
        }]))

    def tearDown(self):
        self.directory.cleanup()

    def check(self, text):
        (self.tree / "core" / "source.cpp").write_text(text)
        run = subprocess.run([sys.executable, str(CHECKER), str(self.tree), str(self.tree / "build")],
                             capture_output=True, text=True, timeout=120)
        return run.returncode, run.stdout + run.stderr

    def test_a_finding_fails_the_check_and_is_named(self):
        status, out = self.check(PLANTED)
        self.assertEqual(status, 1, out)
        self.assertIn("core/source.cpp:1:5: error: function 'planted' exceeds", out)
        self.assertIn("[readability-function-size,-warnings-as-errors]", out)
        self.assertIn("7 parameters (threshold 6)", out)

    def test_a_clean_tree_passes(self):
        status, out = self.check(CLEAN)
        self.assertEqual(status, 0, out)
        self.assertIn("clang-tidy: 1 files", out)


if __name__ == "__main__":
    if not shutil.which("clang-tidy") or not shutil.which("run-clang-tidy"):
        print("clang-tidy: skipped: clang-tidy is not installed (Debian package clang-tidy)")
        sys.exit(77)  # CTest: skipped
    unittest.main()
