"""What ``monitor check`` says about routes: the mistakes that would make a route silent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from monitor.alert.digest import Digest
from monitor.alert.render import Renderer, context
from monitor.config import Config, RouteSettings
from monitor.core.errors import ConfigError
from monitor.match.values import Watchlist


def route_problems(
    config: Config, watchlists: Sequence[Watchlist], env: Mapping[str, str]
) -> list[str]:
    """One line per problem, naming the route and the setting."""
    rules = {(w.name, r.name) for w in watchlists for r in w.rules}
    problems = []
    for route in config.settings.routes:
        problems += _selection(route, {w.name for w in watchlists}, rules)
        problems += _secrets(route, env)
    problems += _templates(config)
    return problems


def _selection(route: RouteSettings, names: set[str], rules: set[tuple[str, str]]) -> list[str]:
    found = [
        f"route {route.name}: watchlists: no watchlist named {name!r}"
        for name in route.watchlists
        if name not in names
    ]
    for rule in route.rules:
        watchlist, _, name = rule.rpartition("/")
        if not any(r == name and (not watchlist or w == watchlist) for w, r in rules):
            found.append(f"route {route.name}: rules: no rule {rule!r} in the watchlists")
    return found


def _secrets(route: RouteSettings, env: Mapping[str, str]) -> list[str]:
    named = []
    if route.email:
        named += [("email.username_env", route.email.username_env)]
        named += [("email.password_env", route.email.password_env)]
    if route.webhook:
        named += [("webhook.secret_env", route.webhook.secret_env)]
    return [
        f"route {route.name}: {setting}: environment variable {name} is not set"
        for setting, name in named
        if name and name not in env
    ]


def _templates(config: Config) -> list[str]:
    """Render an empty digest through every template the routes use."""
    settings = config.settings.alerts
    templates = config.base_dir / settings.templates if settings.templates else None
    renderer = Renderer(templates, config.base_dir / "alerts")
    values = context(
        Digest(groups=(), more=0),
        route="check",
        title="check",
        kind="digest",
        now=datetime.now(UTC),
        zone=ZoneInfo("UTC"),
    )
    formats = {r.template for r in config.settings.routes}
    problems = []
    for fmt in sorted(formats):
        try:
            renderer.render(values, fmt)
        except ConfigError as exc:
            problems.append(exc.message)
    return problems
