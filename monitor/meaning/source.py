"""Where the matcher gets its judge: the model loaded once, or why meaning is off.

A model that cannot be loaded (the extra missing, a broken or absent model) turns
meaning off with the reason, which ``monitor check``, the status page and the logs
show; the listed terms go on matching. A failed load is tried again after
``RETRY_S``, so a model put back is taken up without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from monitor.core.errors import ModelError
from monitor.meaning.encoder import Encoder, load_encoder, why_off
from monitor.meaning.judge import ConceptText, Judge

log = structlog.get_logger("monitor.meaning")
RETRY_S = 300.0


@dataclass(frozen=True, slots=True)
class MeaningState:
    """What ``check`` and the status page say about meaning."""

    on: bool
    model: str
    why: str = ""  # when off
    chosen: bool = False  # off because the configuration says so, not a failure


class MeaningSource:
    def __init__(
        self,
        model: str,
        cache_dir: Path | None = None,
        threads: int = 1,
        enabled: bool = True,
        loader: Callable[[str, Path | None, int], Encoder] = load_encoder,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model, self.cache_dir, self.threads = model, cache_dir, threads
        self.enabled, self.loader, self.monotonic = enabled, loader, monotonic
        self._encoder: Encoder | None = None
        self._why = "" if enabled else "turned off by the setting meaning.enabled"
        self._failed_at: float | None = None

    @property
    def state(self) -> MeaningState:
        chosen = not self.enabled and self._why.startswith("turned off")
        return MeaningState(self._encoder is not None, self.model, self._why, chosen)

    def judge(self, concepts: Sequence[ConceptText]) -> Judge | None:
        """A judge for these concepts, or None (meaning off: ``state`` says why)."""
        encoder = self.encoder() if concepts else None
        return None if encoder is None else Judge(encoder, concepts)

    def retry_due(self) -> bool:
        """Whether a failed load may be tried again now."""
        failed = self._failed_at
        return failed is not None and self.monotonic() - failed >= RETRY_S

    def encoder(self) -> Encoder | None:
        if self._encoder is not None or not self.enabled:
            return self._encoder
        if self._failed_at is not None and not self.retry_due():
            return None
        missing = why_off()
        if missing is not None:
            self.enabled, self._why = False, missing  # installing the extra needs a restart
            return None
        try:
            self._encoder = self.loader(self.model, self.cache_dir, self.threads)
        except ModelError as exc:
            self._why, self._failed_at = exc.message, self.monotonic()
            log.error("meaning.model_failed", model=self.model, error=exc.message)
            return None
        self._why, self._failed_at = "", None
        log.info("meaning.model_loaded", model=self.model, dimension=self._encoder.dimension)
        return self._encoder
