"""The watchlists in force: loaded from a directory, reloaded when a file changes.

A file that fails to load keeps its last good version running (or none, if it
never loaded) and its error is reported; the other files are not affected; when
it loads again, that is reported too (``watchlist.recovered``). A file is read
only once it has been still for ``settle`` seconds, so a file half way through
being written is not taken for the whole.

What is in force (``watchlists.loaded``) is said at info by ``monitor check``
(``announce``) and by the daemon, which watches the files: from its second look
on. A command that reads them once says it at debug, so its stderr stays quiet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from monitor.core.errors import WatchlistError
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.match.meaning import concept_texts
from monitor.match.values import Watchlist
from monitor.meaning.source import MeaningSource
from monitor.watchlist.load import load_watchlist

log = structlog.get_logger("monitor.watchlists")
PATTERNS = ("*.yaml", "*.yml")


@dataclass(frozen=True, slots=True)
class Signature:
    mtime_ns: int
    size: int


def watchlist_files(directory: Path) -> list[Path]:
    return sorted(path for pattern in PATTERNS for path in directory.glob(pattern))


class Registry:
    def __init__(
        self,
        directory: Path,
        languages: Sequence[str] = ("en",),
        default_language: str = "en",
        settle: float = 0.5,
        wall_time: Callable[[], float] = time.time,
        announce: bool = False,
        meaning: MeaningSource | None = None,
    ) -> None:
        self.directory = directory
        self.languages, self.default_language = tuple(languages), default_language
        self.settle, self.wall_time = settle, wall_time
        self.good: dict[Path, Watchlist] = {}
        self.errors: dict[Path, str] = {}
        self.clashing: dict[Path, Watchlist] = {}  # refused: another file has their name
        self._seen: dict[Path, Signature] = {}
        self.matcher = Matcher(compile_index([], self.languages, default_language))
        self.reloads = 0
        # File versions refused so far: a bad edit changes nothing in force, so
        # refresh() says False, yet the daemon's reload metric must count it.
        self.rejected = 0
        self.announce = announce
        self.looks = 0
        self.meaning = meaning  # None: the listed terms only

    @property
    def watchlists(self) -> list[Watchlist]:
        return list(self.good.values())

    def refresh(self, settle: float | None = None) -> bool:
        """Look at the files again; True when the watchlists in force changed."""
        settle = self.settle if settle is None else settle
        files = watchlist_files(self.directory) if self.directory.is_dir() else []
        refused = set(self.errors)
        changed = self._forget_removed(files)
        for path in files:
            changed |= self._look_at(path, settle)
        changed |= self._check_names()
        # In force before it is said (loading a model may take a moment). A model that
        # failed to load is tried again: not a reload of the files.
        if changed or (self.meaning is not None and self.meaning.retry_due()):
            self.matcher = self._matcher()
        for path in sorted((refused - self.errors.keys()) & self.good.keys()):
            log.info("watchlist.recovered", file=str(path), watchlist=self.good[path].name)
        self.looks += 1
        if changed:
            self.reloads += 1
        if changed or (self.looks == 2 and not self.announce):  # the daemon's first watch
            self._log_loaded()
        return changed

    def _matcher(self) -> Matcher:
        watchlists = list(self.good.values())
        index = compile_index(watchlists, self.languages, self.default_language)
        if self.meaning is None:
            return Matcher(index)
        concepts = concept_texts(watchlists)
        judge = self.meaning.judge(concepts)
        # Missing, not off: the model failed; what is matched meanwhile is marked for later.
        missing = self.meaning.state.why if self.meaning.enabled else None
        return Matcher(index, judge, concepts, missing)

    def _log_loaded(self) -> None:
        say = log.info if self.announce or self.looks > 1 else log.debug
        say(
            "watchlists.loaded",
            watchlists=len(self.good),
            rules=len(self.matcher.index.rules),
            errors=len(self.errors),
        )

    def _forget_removed(self, files: list[Path]) -> bool:
        gone = set(self._seen) - set(files)
        for path in gone:
            self._seen.pop(path, None)
            self.errors.pop(path, None)
            self.clashing.pop(path, None)
            if self.good.pop(path, None):
                log.info("watchlist.removed", file=str(path))
        return bool(gone)

    def _look_at(self, path: Path, settle: float) -> bool:
        try:
            stat = path.stat()
        except OSError:
            return False  # removed meanwhile: the next look forgets it
        signature = Signature(stat.st_mtime_ns, stat.st_size)
        if self._seen.get(path) == signature:
            return False
        if self.wall_time() - stat.st_mtime_ns / 1e9 < settle:
            return False  # still being written, perhaps: look again next time
        self._seen[path] = signature
        try:
            watchlist = load_watchlist(path)
        except WatchlistError as exc:
            self.errors[path] = exc.message
            self.rejected += 1
            kept = "the last good version keeps running" if path in self.good else "not loaded"
            log.error("watchlist.invalid", file=str(path), error=exc.message, outcome=kept)
            return False
        self.errors.pop(path, None)
        self.clashing.pop(path, None)
        old = self.good.get(path)
        self.good[path] = watchlist
        return old is None or old.digest != watchlist.digest

    def _check_names(self) -> bool:
        """Two files may not give one name: the first (in file order) has it; the
        others are refused, and kept aside (not read again) until the name is free."""
        owners: dict[str, Path] = {}
        changed = False
        for path in sorted(self.good.keys() | self.clashing.keys()):
            watchlist = self.good.get(path) or self.clashing[path]
            owner = owners.setdefault(watchlist.name, path)
            if owner != path and path in self.good:
                self.clashing[path] = self.good.pop(path)
                error = f"{path}: the watchlist name '{watchlist.name}' is already used by {owner}"
                self.errors[path] = error
                log.error("watchlist.invalid", file=str(path), error=error, outcome="not loaded")
                changed = True
            elif owner == path and path in self.clashing:
                self.good[path] = self.clashing.pop(path)
                self.errors.pop(path, None)
                changed = True
        return changed


def load_all(directory: Path) -> tuple[list[Watchlist], dict[Path, str]]:
    """Every watchlist file read once, for ``monitor check``: the good ones and the errors."""
    registry = Registry(directory, announce=True)
    registry.refresh(settle=0.0)
    return registry.watchlists, registry.errors
