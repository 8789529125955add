"""The one exception tree of monitor.

    MonitorError                 root: catch this to catch everything we raise
    ├── ConfigError              monitor.yaml (or its environment overrides) is wrong
    │   └── WatchlistError       a watchlist file is wrong; the others (and its last good
    │                            version) keep running
    ├── FeedError                one feed could not be fetched or parsed; never stops the others
    │   ├── BlockedAddressError  a hop of the fetch resolved to a non-global address
    │   ├── TooLargeError        the decoded body passed the size cap
    │   ├── FetchTimeoutError    the request passed its overall deadline
    │   └── ParseError           the body is not a feed we can read, or parsing ran too long
    ├── StorageError             the database refused, or is not at the schema we know
    │   └── SchemaTooNewError    the database was migrated by a newer monitor
    └── ModelError               the sentence-embedding model is missing, broken, of the
                                 wrong dimension, or cannot be downloaded (monitor.meaning)

Third-party exceptions are wrapped at the module that owns the library, with the
original kept as ``__cause__``.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Root of every error monitor raises on purpose."""

    default_message = "monitor failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(MonitorError):
    default_message = "invalid configuration"


class WatchlistError(ConfigError):
    default_message = "invalid watchlist"


class FeedError(MonitorError):
    """A failure of one feed. ``kind`` is the short code stored as the feed's status."""

    default_message = "feed failed"
    kind = "error"


class BlockedAddressError(FeedError):
    default_message = "refused: the address is not a global one"
    kind = "blocked"


class TooLargeError(FeedError):
    default_message = "too large"
    kind = "too_large"


class FetchTimeoutError(FeedError):
    default_message = "timed out"
    kind = "timeout"


class ParseError(FeedError):
    default_message = "not a readable feed"
    kind = "parse_error"


class StorageError(MonitorError):
    default_message = "storage failed"


class SchemaTooNewError(StorageError):
    default_message = "the database was created by a newer version of monitor"


class ModelError(MonitorError):
    """The message names the model (hub name or directory) and says why."""

    default_message = "the sentence-embedding model cannot be used"
