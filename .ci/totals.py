"""Line and branch coverage apart, from coverage.py's JSON report.

    python .ci/totals.py FILE    print the two totals of FILE (`coverage json -o FILE`)

coverage.py's own report gives one total for both together (lines and branches
counted as one); a reader wants to know which of the two is missing.
Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def totals(report: dict[str, dict[str, float]]) -> str:
    found = report["totals"]
    lines = f"{found['covered_lines']}/{found['num_statements']}"
    branches = f"{found['covered_branches']}/{found['num_branches']}"
    return (
        f"lines {found['percent_statements_covered']:.1f} % ({lines}), "
        f"branches {found['percent_branches_covered']:.1f} % ({branches}), "
        f"together {found['percent_covered']:.1f} %"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print(totals(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
