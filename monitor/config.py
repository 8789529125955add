"""monitor.yaml: read, validated, overridden from the environment.

Every scalar setting ``section.key`` can be overridden by ``MONITOR_SECTION_KEY``
(``MONITOR_DATABASE_URL``, ``MONITOR_POLLING_INTERVAL``, ...). Secrets such as a
database password belong in those variables, never in the file.
Relative paths (SQLite files, local feeds) are relative to the configuration file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from monitor.alert import schedule
from monitor.core.addresses import to_policy
from monitor.core.errors import ConfigError
from monitor.core.types import AddressPolicy, FeedSpec
from monitor.core.yamlsrc import Document, expected, load_file, load_text

UNKNOWN = "unknown setting (check the spelling; see README for the settings)"

ENV_PREFIX = "MONITOR_"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZES = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20, "gb": 10**9}


def _number(value: Any) -> Any:
    # pydantic's lax mode reads YAML true as 1: "interval: true" would poll every second.
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false")
    return value


def _duration(value: Any) -> Any:
    value = _number(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
        if not match:
            raise ValueError("expected a duration such as 90s, 15m, 2h or 1d")
        return float(match[1]) * _UNITS[match[2] or "s"]
    return value


def parse_duration(text: str) -> float:
    """Seconds in ``90s``, ``15m``, ``2h``, ``1d`` or ``900``, read as every setting reads them.

    Raises ValueError with what was expected."""
    return float(_duration(text))


def _size(value: Any) -> Any:
    value = _number(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", value)
        if not match or match[2].lower() not in _SIZES:
            raise ValueError("expected a size such as 512KiB or 10MiB")
        return int(match[1]) * _SIZES[match[2].lower()]
    return value


def _schedule_text(value: str) -> str:
    schedule.parse(value)
    return value


def _zone(value: str) -> str:
    schedule.parse_zone(value)
    return value


def _quiet(value: str) -> str:
    schedule.parse_quiet(value)
    return value


def _policy(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no"}:
        return value.strip().lower() in {"true", "yes"}
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


Seconds = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
Bytes = Annotated[int, BeforeValidator(_size), Field(gt=0)]
Count = Annotated[int, BeforeValidator(_number)]
Fraction = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)]
PrivatePolicy = Annotated[bool | list[str], BeforeValidator(_policy)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///corpus/monitor.db"


class PollingSettings(_Section):
    interval: Seconds = 900
    max_interval: Seconds = 86400
    min_interval: Seconds = 60
    timeout: Seconds = 30
    concurrency: Annotated[Count, Field(ge=1, le=1000)] = 20
    per_host: Annotated[Count, Field(ge=1, le=100)] = 4
    max_body: Bytes = 10 * 2**20
    max_entries: Annotated[Count, Field(ge=1)] = 500
    parse_timeout: Seconds = 20
    parse_workers: Annotated[Count, Field(ge=0, le=64)] | None = None
    user_agent: str | None = None
    check_every: Seconds = 30


class NetworkSettings(_Section):
    allow_private: PrivatePolicy = False


class LogSettings(_Section):
    format: Literal["console", "json"] = "console"
    level: Literal["debug", "info", "warning", "error"] = "info"


def _codes(value: Any) -> Any:
    return (
        [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, str)
        else value
    )


class WatchlistSettings(_Section):
    dir: str = "watchlists"
    reload_every: Seconds = 2
    # Stemmers to compile watchlists for; an article in another language (or
    # none said) is read as ``default_language``.
    languages: Annotated[list[str], BeforeValidator(_codes)] = ["en"]
    default_language: str = "en"


class MeaningSettings(_Section):
    """Matching concepts by meaning (the optional extra monitor[semantic])."""

    enabled: bool = True  # false: listed terms only, even with the extra installed
    # A sentence-embedding model: a model hub name, downloaded once into ``cache_dir``
    # and read from there afterwards, or a local directory (ONNX file and tokenizer).
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    cache_dir: str | None = None  # None: ~/.cache/monitor/models
    threads: Annotated[Count, Field(ge=1, le=64)] = 1  # CPU threads the model may use


class DuplicateSettings(_Section):
    """Near-duplicates and stories; the defaults come from bench/neardup.py's evaluation."""

    # false: no near-duplicates or stories (articles wait, compared once it is true)
    enabled: bool = True
    window: Seconds = 30 * 86400  # a copy is looked for among articles this close in time
    story_window: Seconds = 14 * 86400  # since a story's latest article
    containment: Fraction = 0.87  # share of the shorter text inside the longer: a reprint
    partial: Fraction = 0.7  # a reprint shorter than this share of the other is "partial"
    reprint_words: Fraction = 0.6  # word-shingle similarity of a lightly edited reprint…
    reprint_masked: Fraction = 0.7  # …with its masked-shingle similarity
    spun: Fraction = 0.25  # masked-shingle similarity of a spun copy…
    spun_margin: Fraction = 0.03  # …above its word-shingle similarity by at least this…
    spun_names: Fraction = 0.8  # …keeping this share of the shorter text's names
    names: Fraction = 0.6  # share of the shorter text's names and numbers in the other
    story_names: Count = 5  # names an article shares with a story to join it
    story_coverage: Fraction = 0.5  # share of the article's names the story uses
    # Article bodies older than this are emptied (sketches and stories stay);
    # None keeps them for ever.
    purge_bodies_after: Seconds | None = None


class EmailSettings(_Section):
    """SMTP: STARTTLS (587) or implicit TLS (465), certificates verified."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str
    port: Annotated[Count, Field(ge=1, le=65535)] | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"
    sender: str = Field(alias="from")
    to: Annotated[list[str], BeforeValidator(_codes), Field(min_length=1)]
    username_env: str | None = None  # names of the environment variables holding
    password_env: str | None = None  # the credentials (never the credentials)
    ca_file: str | None = None  # a private CA to trust as well, relative to monitor.yaml
    timeout: Seconds = 30
    list_unsubscribe: str | None = None  # a mailto: or https: address

    @model_validator(mode="after")
    def _no_credentials_in_clear(self) -> EmailSettings:
        if self.security == "none" and (self.username_env or self.password_env):
            raise ValueError(
                "expected security: starttls or tls with credentials "
                "(none would send them in clear)"
            )
        return self


def _webhook_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http or https URL such as https://hooks.example.org/x")
    return value.strip()


class WebhookSettings(_Section):
    url: Annotated[str, AfterValidator(_webhook_url)]
    # standard: JSON signed per Standard Webhooks; the others post that chat's format
    format: Literal["standard", "slack", "discord", "teams", "mattermost"] = "standard"
    # Environment variable with the signing secrets (whsec_...), space-separated:
    # during a rotation, both the new and the old one sign.
    secret_env: str | None = None
    timeout: Seconds = 15


class FileSettings(_Section):
    dir: str = "digests"  # relative to monitor.yaml


class RouteSettings(_Section):
    """Which matches go where, when: one of ``file``, ``email`` or ``webhook``."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    file: FileSettings | None = None
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None
    watchlists: Annotated[list[str], BeforeValidator(_codes)] = []  # none: all of them
    rules: Annotated[list[str], BeforeValidator(_codes)] = []  # "rule" or "watchlist/rule"
    min_score: Annotated[float, BeforeValidator(_number)] = 0.0
    schedule: Annotated[str, AfterValidator(_schedule_text)] = "every 1h"
    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"
    quiet_hours: Annotated[str, AfterValidator(_quiet)] | None = None
    urgent_score: Annotated[float, BeforeValidator(_number)] | None = None  # sent at once
    max_entries: Annotated[Count, Field(ge=1, le=10000)] = 50
    # At most max_alerts instant messages in any alert_window; the stories past the
    # cap go together in one message (see monitor.alert.flood for the default's why).
    max_alerts: Annotated[Count, Field(ge=1, le=1_000_000)] = 20
    alert_window: Annotated[Seconds, Field(le=7 * 86400)] = 600
    title: str | None = None
    send_empty: bool = False

    @model_validator(mode="after")
    def _one_channel(self) -> RouteSettings:
        given = [c for c in ("file", "email", "webhook") if getattr(self, c) is not None]
        if len(given) != 1:
            raise ValueError("expected exactly one channel: file, email or webhook")
        return self

    @property
    def template(self) -> str:
        """The JSON template the route's payload comes from: webhook, or a chat format."""
        fmt = self.webhook.format if self.webhook else "standard"
        return "webhook" if fmt == "standard" else fmt

    @property
    def channel(self) -> str:
        """file, email, webhook, or the chat format a webhook posts."""
        if self.webhook is not None:
            return self.template
        return "email" if self.email is not None else "file"

    @property
    def secrets(self) -> tuple[tuple[str, str], ...]:
        """The environment variables the channel reads, by setting:
        ``("email.password_env", "SMTP_PASSWORD")``."""
        named: list[tuple[str, str | None]] = []
        if self.email:
            named += [("email.username_env", self.email.username_env)]
            named += [("email.password_env", self.email.password_env)]
        if self.webhook:
            named += [("webhook.secret_env", self.webhook.secret_env)]
        return tuple((setting, name) for setting, name in named if name)


class OpsHttpSettings(_Section):
    """``http:``, the daemon's health, metrics and status page; off unless enabled.

    (Not the feed fetcher's ``monitor.fetch.http.HttpSettings``.)"""

    enabled: bool = False
    host: str = "127.0.0.1"  # 0.0.0.0 in a container, behind your own access control
    port: Annotated[Count, Field(ge=1, le=65535)] = 8080
    # Host: names served besides the bind address, localhost and 127.0.0.1 ("*": any).
    allowed_hosts: Annotated[list[str], BeforeValidator(_codes)] = []
    # Bearer token for / and /metrics (/healthz, /readyz stay open): MONITOR_HTTP_TOKEN.
    # No length rule: its error message would print the secret (README: long, random).
    token: Annotated[str, Field(min_length=1)] | None = None


class AlertSettings(_Section):
    templates: str | None = None  # your own templates, searched before alerts/
    check_every: Seconds = 5  # how often due digests and deliveries are looked for
    retry_base: Seconds = 30  # first retry delay, doubled per attempt (with jitter)…
    retry_max: Seconds = 3600  # …up to this
    max_attempts: Annotated[Count, Field(ge=1, le=100)] = 12  # then the delivery is parked
    domain: str = "monitor.localhost"  # in Message-ID and List-Id


class FeedSettings(_Section):
    url: str
    title: str | None = None
    interval: Seconds | None = None
    allow_private: PrivatePolicy | None = None


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    polling: PollingSettings = PollingSettings()
    network: NetworkSettings = NetworkSettings()
    log: LogSettings = LogSettings()
    watchlists: WatchlistSettings = WatchlistSettings()
    meaning: MeaningSettings = MeaningSettings()
    duplicates: DuplicateSettings = DuplicateSettings()
    alerts: AlertSettings = AlertSettings()
    http: OpsHttpSettings = OpsHttpSettings()
    feeds: Annotated[list[FeedSettings], BeforeValidator(lambda v: [] if v is None else v)] = []
    routes: Annotated[list[RouteSettings], BeforeValidator(lambda v: [] if v is None else v)] = []

    @model_validator(mode="after")
    def _unique_routes(self) -> Settings:
        names = [route.name for route in self.routes]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"expected each route name once, {name!r} is given twice")
        return self


class Config:
    """Validated settings plus where they came from."""

    def __init__(self, settings: Settings, base_dir: Path, source: str) -> None:
        self.settings = settings
        self.base_dir = base_dir
        self.source = source

    @property
    def database_url(self) -> str:
        return resolve_sqlite_url(self.settings.database.url, self.base_dir)

    @property
    def watchlist_dir(self) -> Path:
        return self.base_dir / self.settings.watchlists.dir

    @property
    def meaning_model(self) -> str:
        """The model as the meaning source loads it: a directory beside monitor.yaml
        (a relative path that exists there) resolved, a model hub name as written."""
        model = self.settings.meaning.model
        local = self.base_dir / model
        return str(local.resolve()) if not Path(model).is_absolute() and local.is_dir() else model

    def feed_specs(self) -> list[FeedSpec]:
        return [self._spec(feed) for feed in self.settings.feeds]

    def _spec(self, feed: FeedSettings) -> FeedSpec:
        local = feed_scheme(feed.url) is None
        url = str((self.base_dir / feed.url).resolve()) if local else feed.url.strip()
        allow = feed.allow_private
        return FeedSpec(
            url=url,
            title=feed.title,
            interval_s=int(feed.interval) if feed.interval else None,
            allow_private=tuple(allow) if isinstance(allow, list) else allow,
            local=local,
        )

    def policy(self, override: bool | list[str] | None = None) -> AddressPolicy:
        chosen = self.settings.network.allow_private if override is None else override
        return to_policy(chosen)


def resolve_sqlite_url(url: str, base_dir: Path) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == prefix + ":memory:":
        return url
    return prefix + str((base_dir / url[len(prefix) :]).resolve())


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    path = path or Path(env.get("MONITOR_CONFIG", "monitor.yaml"))
    document = load_file(path)
    return from_document(document, path.resolve().parent, env)


def from_text(text: str, base_dir: Path, env: Mapping[str, str] | None = None) -> Config:
    return from_document(load_text(text, "<text>"), base_dir, env or {})


def from_document(document: Document, base_dir: Path, env: Mapping[str, str]) -> Config:
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{document.where(())}: expected a mapping of settings at the top")
    overridden = _apply_env(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, document, overridden)) from exc
    _check_policies(settings, document, overridden)
    _check_feed_urls(settings, document)
    return Config(settings, base_dir, document.source)


def env_names() -> dict[str, tuple[str, str]]:
    """``MONITOR_SECTION_KEY`` for every scalar setting, mapped to (section, key)."""
    names = {}
    for section, info in Settings.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and issubclass(model, _Section):
            for key in model.model_fields:
                names[f"{ENV_PREFIX}{section}_{key}".upper()] = (section, key)
    return names


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, str], str]:
    overridden = {}
    for name, (section, key) in env_names().items():
        if name in env:
            block = data.setdefault(section, {})
            if not isinstance(block, dict):
                block = data[section] = {}
            block[key] = env[name]
            overridden[(section, key)] = name
    return overridden


def _describe(
    exc: ValidationError, document: Document, overridden: dict[tuple[str, str], str]
) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        dotted = ".".join(str(part) for part in loc)
        lines.append(f"{_where(loc, document, overridden)}: {dotted}: {expected(error, UNKNOWN)}")
    return "\n".join(lines)


def _where(
    loc: tuple[str | int, ...], document: Document, overridden: dict[tuple[str, str], str]
) -> str:
    """The environment variable that set ``loc``, else its file:line:col."""
    env_name = overridden.get((str(loc[0]), str(loc[1]))) if len(loc) >= 2 else None
    return f"environment variable {env_name}" if env_name else document.where(loc)


def _check_policies(
    settings: Settings, document: Document, overridden: dict[tuple[str, str], str]
) -> None:
    places: list[tuple[tuple[str | int, ...], bool | list[str] | None]] = [
        (("network", "allow_private"), settings.network.allow_private)
    ]
    places += [
        (("feeds", i, "allow_private"), f.allow_private) for i, f in enumerate(settings.feeds)
    ]
    for path, value in places:
        for index, item in enumerate(value if isinstance(value, list) else []):
            try:
                ip_network(item, strict=False)
            except ValueError as exc:
                # A block list has a mark per item; a flow list or a string falls
                # back to the key's mark.
                loc = (*path, index)
                dotted = ".".join(str(part) for part in loc)
                raise ConfigError(
                    f"{_where(loc, document, overridden)}: {dotted}: expected true, false or "
                    f"networks such as 10.0.0.0/8, got {item!r}"
                ) from exc


def feed_scheme(url: str) -> str | None:
    """The URL scheme, or None for a local path (``C:`` drive letters count as paths)."""
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]+):", url.strip())
    return match[1].lower() if match else None


def _check_feed_urls(settings: Settings, document: Document) -> None:
    for i, feed in enumerate(settings.feeds):
        if not _usable_feed_url(feed.url.strip()):
            where = document.where(("feeds", i, "url"))
            raise ConfigError(
                f"{where}: feeds.{i}.url: expected an http or https URL, or the path of a "
                f"local feed file, got {feed.url!r}"
            )


def _usable_feed_url(url: str) -> bool:
    """An http(s) URL with a host, or a local path (never "//host/...", which is neither)."""
    scheme = feed_scheme(url)
    if scheme is None:
        return bool(url) and not url.startswith("//")
    if scheme not in ("http", "https"):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # a broken IPv6 literal
        return False
