#!/usr/bin/python3
"""The dependency direction of STYLE.md section 1, checked on the real #include lines.

core/ includes nothing of fcgi/, runner/ or cli/; those three include core/ and themselves,
never each other. client/ (the client library, whose in-process transport runs the handlers and
the runner) includes core/, fcgi/, runner/ and itself. include/ (the library's public headers,
installed for programs that have none of our dependencies) includes only include/task_runner/
and the standard library: no layer, no third-party header. Every #include of a .cpp or .h under the four directories is resolved the
way the compiler resolves it (a quoted name first beside the including file, then from the
repository root, which is the include directory; an angled name only from the root), so
"runner/claim.h", <runner/claim.h> and "../runner/claim.h" are the same edge.

usage: layering.py [ROOT]   (ROOT defaults to the repository holding this script)
Prints one line per forbidden edge, FILE:LINE: FROM -> TO: the include; exits 1 if any.
"""

import os
import re
import sys
from pathlib import Path

LAYERS = ("core", "fcgi", "runner", "cli", "client", "include")
SOURCE_SUFFIXES = (".cpp", ".h")

# The directive may be spaced out ("#  include"); the name ends at its closing delimiter.
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.MULTILINE)
# Block comments, replaced by as many newlines so line numbers stay right; line comments need
# nothing, since a directive must start its line.
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def allowed(source_layer, target_layer):
    """core only itself; client itself, core, fcgi and runner; include only itself; every other
    layer itself and core."""
    if source_layer == "include":
        return target_layer == "include"
    if source_layer == "client":
        return target_layer in ("client", "core", "fcgi", "runner")
    return target_layer in (source_layer, "core")


def public_header_include_allowed(name):
    """What a public header may include besides include/: standard headers (<vector>), whose
    names have neither a directory nor a suffix."""
    return "/" not in name and "." not in name


def layer_of(path, root):
    """The layer holding path (a path under root), or None for anything else."""
    try:
        first = Path(os.path.relpath(path, root)).parts[0]
    except ValueError:  # another drive; cannot happen on Linux, but never ours
        return None
    return first if first in LAYERS else None


def resolve(source, delimiter, name, root):
    """Where the compiler finds name, or where it would look if the file does not exist yet
    (a forbidden include of a missing header is still a forbidden edge)."""
    if delimiter == '"':
        beside = os.path.normpath(source.parent / name)
        if os.path.exists(beside):
            return beside
    return os.path.normpath(root / name)


def includes(text):
    """(line number, delimiter, name) of every #include outside block comments."""
    text = BLOCK_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for match in INCLUDE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield line, match.group(1), match.group(2).strip()


def violations(root):
    """One message per forbidden include under root, in file order."""
    found = []
    for layer in LAYERS:
        for source in sorted((root / layer).rglob("*")):
            if source.suffix not in SOURCE_SUFFIXES or not source.is_file():
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
            for line, delimiter, name in includes(text):
                target = layer_of(resolve(source, delimiter, name, root), root)
                if layer == "include" and target is None and name.startswith("task_runner/"):
                    target = "include"  # <task_runner/x.h> is found through -Iinclude
                closing = ">" if delimiter == "<" else '"'
                if target is None and layer == "include" and not public_header_include_allowed(name):
                    found.append(f"{source.relative_to(root)}:{line}: include/ -> outside: "
                                 f"#include {delimiter}{name}{closing}")
                if target is None or allowed(layer, target):
                    continue
                found.append(
                    f"{source.relative_to(root)}:{line}: {layer}/ -> {target}/: "
                    f"#include {delimiter}{name}{closing}")
    return found


def main(argv):
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parents[2]).resolve()
    missing = [layer for layer in LAYERS if not (root / layer).is_dir()]
    if missing:
        print(f"layering: {root} has no {', '.join(missing)} directory", file=sys.stderr)
        return 2
    found = violations(root)
    for message in found:
        print(message)
    if found:
        print(f"layering: {len(found)} forbidden include(s): core/ includes only core/; fcgi/, "
              "runner/ and cli/ include core/ and themselves, never each other (STYLE.md 1); "
              "client/ may also include fcgi/ and runner/; include/ only include/task_runner/ "
              "and the standard library. Code two programs need moves down into core/.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
