"""The scenarios the reliability report runs, by suite (``--only`` picks suites)."""

from __future__ import annotations

from tests.reliability import faults, fetching, mail, security
from tests.reliability.figures import Scenario
from tests.reliability.fuzzing import fuzz_figures

SUITES: dict[str, tuple[Scenario, ...]] = {
    "fetching": fetching.SCENARIOS,
    "faults": faults.SCENARIOS,
    "mail": mail.SCENARIOS,
    "security": security.SCENARIOS,
    "fuzzing": (fuzz_figures,),
}
