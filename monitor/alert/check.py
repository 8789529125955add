"""What ``monitor check`` says about routes: the mistakes that would make a route silent."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from zoneinfo import ZoneInfo

from monitor.alert.digest import Digest
from monitor.alert.render import Renderer, context
from monitor.alert.settings import RouteSpec
from monitor.core.clock import Clock
from monitor.core.errors import ConfigError


def route_problems(
    routes: Sequence[RouteSpec],
    watchlists: Mapping[str, Collection[str]],
    env: Mapping[str, str],
    renderer: Renderer,
    clock: Clock,
) -> list[str]:
    """One line per problem, naming the route and the setting.

    ``watchlists``: the rule names of each watchlist in force; ``renderer``: the
    routes' templates.
    """
    rules = {(w, r) for w, names in watchlists.items() for r in names}
    problems = []
    for route in routes:
        problems += _selection(route, set(watchlists), rules)
        problems += _secrets(route, env)
    problems += _templates(routes, renderer, clock)
    return problems


def _selection(route: RouteSpec, names: set[str], rules: set[tuple[str, str]]) -> list[str]:
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


def _secrets(route: RouteSpec, env: Mapping[str, str]) -> list[str]:
    return [
        f"route {route.name}: {setting}: environment variable {name} is not set"
        for setting, name in route.secrets
        if name not in env
    ]


def _templates(routes: Sequence[RouteSpec], renderer: Renderer, clock: Clock) -> list[str]:
    """Render an empty digest through every template the routes use."""
    values = context(
        Digest(groups=(), more=0),
        route="check",
        title="check",
        kind="digest",
        now=clock.now(),
        zone=ZoneInfo("UTC"),
    )
    formats = {r.template for r in routes}
    problems = []
    for fmt in sorted(formats):
        try:
            renderer.render(values, fmt)
        except ConfigError as exc:
            problems.append(exc.message)
    return problems
