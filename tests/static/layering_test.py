#!/usr/bin/python3
"""layering.py can fail: each test plants one include in a temporary copy of the real tree and
expects exactly that edge reported, with file and line; the untouched copy must pass.

usage: layering_test.py [unittest options]   (copies the repository holding it)
"""

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

CHECKER = Path(__file__).resolve().with_name("layering.py")
ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("core", "fcgi", "runner", "cli", "client", "include")


class Layering(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="layering-")
        self.tree = Path(self.directory.name)
        for layer in LAYERS:
            shutil.copytree(ROOT / layer, self.tree / layer)

    def tearDown(self):
        self.directory.cleanup()

    def check(self):
        """(exit status, stdout) of the checker over the copy."""
        run = subprocess.run([sys.executable, str(CHECKER), str(self.tree)],
                             capture_output=True, text=True, timeout=60)
        return run.returncode, run.stdout

    def plant(self, relative, line):
        """Appends line to the copy's file relative (created if new); returns its line number."""
        path = self.tree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text() if path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        path.write_text(text + line + "\n")
        return text.count("\n") + 1

    def assert_caught(self, relative, include, edge):
        line = self.plant(relative, include)
        status, out = self.check()
        self.assertEqual(status, 1, out)
        name = include[min(i for i in (include.find('"'), include.find("<")) if i >= 0):]
        self.assertIn(f"{relative}:{line}: {edge}: #include {name}", out)
        self.assertEqual(out.count(": #include"), 1, out)  # only the planted one

    def test_the_copy_of_the_real_tree_passes(self):
        self.assertEqual(self.check(), (0, ""))

    def test_core_including_the_runner_is_caught(self):
        self.assert_caught("core/strings.cpp", '#include "runner/claim.h"', "core/ -> runner/")

    def test_core_header_including_fcgi_in_angle_brackets_is_caught(self):
        self.assert_caught("core/error.h", "#include <fcgi/router.h>", "core/ -> fcgi/")

    def test_fcgi_including_the_runner_is_caught(self):
        self.assert_caught("fcgi/handlers/tasks.cpp", '#include "runner/providers/wire.h"',
                           "fcgi/ -> runner/")

    def test_runner_including_the_cli_with_spaced_directive_is_caught(self):
        self.assert_caught("runner/tools/arguments.cpp", '  #  include "cli/usage_error.h"',
                           "runner/ -> cli/")

    def test_cli_including_fcgi_by_a_relative_path_is_caught(self):
        self.assert_caught("cli/task_command.cpp", '#include "../fcgi/respond.h"',
                           "cli/ -> fcgi/")

    def test_a_missing_header_of_another_layer_is_still_an_edge(self):
        self.assert_caught("cli/new_command.h", '#include "fcgi/not_written_yet.h"',
                           "cli/ -> fcgi/")

    def test_core_and_own_layer_includes_pass(self):
        self.plant("runner/tools/arguments.cpp", '#include "core/json.h"')
        self.plant("fcgi/router.cpp", '#include "fcgi/handlers/common.h"')
        self.plant("cli/task_command.cpp", "#include <jansson.h>")
        self.assertEqual(self.check(), (0, ""))

    def test_fcgi_including_the_client_library_is_caught(self):
        self.assert_caught("fcgi/router.cpp", '#include "client/transport.h"', "fcgi/ -> client/")

    def test_cli_including_the_client_librarys_insides_is_caught(self):
        self.assert_caught("cli/main.cpp", '#include "client/transport.h"', "cli/ -> client/")

    def test_a_public_header_including_core_is_caught(self):
        self.assert_caught("include/task_runner/types.h", '#include "core/json.h"',
                           "include/ -> core/")

    def test_a_public_header_including_a_third_party_header_is_caught(self):
        self.assert_caught("include/task_runner/client.h", "#include <jansson.h>",
                           "include/ -> outside")

    def test_the_client_library_may_use_core_fcgi_and_runner(self):
        self.plant("client/client.cpp", '#include "fcgi/router.h"')
        self.plant("client/client.cpp", '#include "runner/runner.h"')
        self.plant("cli/main.cpp", "#include <task_runner/client.h>")
        self.plant("include/task_runner/client.h", "#include <string_view>")
        self.assertEqual(self.check(), (0, ""))

    def test_commented_out_includes_pass(self):
        self.plant("core/strings.cpp", '// #include "runner/claim.h"')
        self.plant("core/strings.cpp", '/* old:\n#include "fcgi/router.h"\n*/')
        self.assertEqual(self.check(), (0, ""))


if __name__ == "__main__":
    unittest.main()
