"""Progress output: a live status line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.status import Status


class Progress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None
        self._last_plain = 0.0
        self._step = ""

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self.status = self.console.status("starting")
            self.status.start()
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.status is not None:
            self.status.stop()

    def step(self, message: str) -> None:
        """Start a new step: logged as a line and shown as the status."""
        self._step = message
        self.console.log(message)
        if self.status is not None:
            self.status.update(message)

    def update(self, detail: str) -> None:
        """Live detail for the current step (throttled to every 10 s off a terminal)."""
        if self.status is not None:
            self.status.update(f"{self._step} {detail}")
        elif time.monotonic() - self._last_plain >= 10:
            self._last_plain = time.monotonic()
            self.console.log(f"  … {detail}")

    def done(self, message: str) -> None:
        self.console.log(f"  [green]✓[/] {message}")

    def fail(self, message: str) -> None:
        self.console.log(f"  [red]✗[/] {message}")
