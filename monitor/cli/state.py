"""What every command shares: the configuration, loaded once, and the clock."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Config, load
from monitor.core import logs
from monitor.core.clock import Clock, SystemClock
from monitor.core.redact import redact_url
from monitor.store.repository import Repository

SQLITE = "sqlite:///"


class State:
    def __init__(self, config_path: Path | None, clock: Clock | None = None) -> None:
        self.config_path = config_path
        self.clock = clock or SystemClock()
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load(self.config_path)
            settings = self._config.settings.log
            logs.configure(settings.format, settings.level)
        return self._config

    @property
    def database(self) -> str:
        """The database as people name it: its file for SQLite, else its URL, redacted."""
        url = self.config.database_url
        return url[len(SQLITE) :] if url.startswith(SQLITE) else redact_url(url)

    def repo(self) -> Repository:
        return Repository.open(self.config.database_url)
