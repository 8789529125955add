"""A listing of the checkout, to prove the test suite leaves it alone.

    python .ci/tree.py snapshot FILE    write the listing to FILE
    python .ci/tree.py compare FILE     list what changed since FILE; exit 1 if anything did

Every path under the checkout is listed (ignored files included, directories too,
so a file made and removed again shows as a changed directory) with its type,
size and modification time. Two folders are left out, and why:

- ``.venv``: the environment the Makefile manages, which ``make once`` creates and
  ``make test`` completes with the dev extras (pytest, mypy, ruff...): it changes
  by design before the suite runs.
- ``.git``: git's own store, which git changes on its own account while a suite
  runs (an editor's background ``git status`` rewrites the index, a commit in a
  clone that shares objects through hard links touches them); no test runs git
  in the checkout.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = {".venv", ".git"}  # at the checkout's top
SHOWN = 40


def listing(root: Path = ROOT) -> dict[str, list[int | str]]:
    found: dict[str, list[int | str]] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if d not in LEFT_OUT]
            files = [f for f in files if f not in LEFT_OUT]
        for name in [*dirs, *files]:
            path = here / name
            info = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if name in dirs else "file"
            size = 0 if kind == "dir" else info.st_size
            found[path.relative_to(root).as_posix()] = [kind, size, info.st_mtime_ns]
    return found


def changes(before: dict[str, list[int | str]], after: dict[str, list[int | str]]) -> list[str]:
    lines = [f"added    {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"removed  {p}" for p in sorted(before.keys() - after.keys())]
    lines += [
        f"changed  {p}  (type, size, mtime {before[p]} -> {after[p]})"
        for p in sorted(before.keys() & after.keys())
        if before[p] != after[p]
    ]
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("snapshot", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    command, file = argv
    if command == "snapshot":
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        Path(file).write_text(json.dumps(listing()), encoding="utf-8")
        return 0
    found = changes(json.loads(Path(file).read_text(encoding="utf-8")), listing())
    if not found:
        return 0
    print(f"the tests changed the checkout {ROOT} ({len(found)} paths):", file=sys.stderr)
    for line in found[:SHOWN]:
        print(f"  {line}", file=sys.stderr)
    if len(found) > SHOWN:
        print(f"  and {len(found) - SHOWN} more", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
