"""A user's file read with a size cap: monitor.yaml, watchlists, OPML.

The cap is enforced while reading (at most one byte past it is read), so a file
of gigabytes named by mistake is refused without being loaded whole.
"""

from __future__ import annotations

from pathlib import Path

from monitor.core.errors import ConfigError, MonitorError


def read_capped(path: Path, limit: int, error: type[MonitorError] = ConfigError) -> bytes:
    """The bytes of ``path``; ``error`` (naming the file) when unreadable or over ``limit``."""
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > limit:
        raise error(f"{path}: larger than {limit} bytes")
    return raw
