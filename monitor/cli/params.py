"""Command-line values read the way monitor.yaml reads them, with bounds that say why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from monitor.config import parse_duration

# The largest id a database row can have (PostgreSQL's integer columns).
MAX_ID = 2**31 - 1
ROW_ID = click.IntRange(min=1, max=MAX_ID)
# More rows than a terminal shows; a larger number is a typo, not a wish.
LIMIT = click.IntRange(min=1, max=1_000_000)


def duration(least_s: float, most_s: float) -> Callable[[click.Context, Any, str | None], Any]:
    """An option callback: ``15m``, ``2h``, ``1d`` or plain seconds, as in monitor.yaml,
    from ``least_s`` to ``most_s``, as whole seconds (None when the option is not given)."""

    def convert(ctx: click.Context, param: Any, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise click.BadParameter(f"{value}: {exc}") from None
        if not least_s <= seconds <= most_s:
            raise click.BadParameter(
                f"{value}: expected from {_short(least_s)} to {_short(most_s)}"
            )
        return round(seconds)

    return convert


def _short(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
