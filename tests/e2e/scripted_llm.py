"""The scripted LLM server now ships with the pytest plugin (python/task_runner_pytest/); this
name stays for the suite's `from scripted_llm import ...` and for running it by hand:

    python3 tests/e2e/scripted_llm.py --port 8089

`import scripted_llm` gives the plugin's module itself (not a copy), so what a test or conftest.py
changes on it is what the plugin uses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

from task_runner_pytest import scripted_llm  # noqa: E402

if __name__ == "__main__":
    scripted_llm.main()
else:
    sys.modules[__name__] = scripted_llm
