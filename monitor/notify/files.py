"""The file channel: each digest written as .eml, .html and .json files, no server needed."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

from monitor.core.types import Outbound
from monitor.notify import Outcome


class FileNotifier:
    deadline = 30.0

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, delivery: Outbound) -> Outcome:
        try:
            await asyncio.to_thread(self._write, delivery)
        except OSError as exc:  # a full disk or a permission: worth another try
            return Outcome.again(f"{self.directory}: {exc.strerror or exc}")
        return Outcome.sent()

    def _write(self, delivery: Outbound) -> None:
        files = json.loads(delivery.payload)
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = files["stem"]
        for suffix in ("eml", "json", "html"):  # html last: it is what people open
            _atomic_write(self.directory / f"{stem}.{suffix}", files[suffix])
        _atomic_write(self.directory / "latest.html", files["html"])

    async def aclose(self) -> None:
        return None


def _atomic_write(path: Path, text: str) -> None:
    """Readers never see half a file; a retry overwrites the same name."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
