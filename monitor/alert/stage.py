"""Matches into digests into deliveries: the alert stage.

Flow, for each route in ``monitor.yaml`` (``build``, in a worker thread):
  sync the route's state → its candidates (stored matches it has not settled,
  of its watchlists and rules, at its minimum score, once the near stage has
  filed their articles) → unless quiet hours hold them: the urgent stories
  (all of them on an ``instant`` route, else those scoring ``urgent_score``)
  each as an alert at once → when the route's period has ended: the rest as one
  digest (``monitor.alert.digest``) → rendered (``render``) → composed into the
  bytes the channel sends (``message``) → saved with the matches it settles and
  its delivery, in one transaction (through ``AlertStore``).
Then ``deliver`` (on the event loop): claim due deliveries → each route's
notifier sends them in order → sent, retried later (``retry``), parked, or the
route disabled (HTTP 410).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import structlog

from monitor.alert import digest as digests
from monitor.alert import flood
from monitor.alert import schedule as schedules
from monitor.alert.message import compose, new_id
from monitor.alert.render import Rendered, Renderer, context
from monitor.alert.retry import RetryPolicy, next_attempt
from monitor.alert.settings import RouteSpec
from monitor.alert.storage import AlertStore
from monitor.core.alerting import Candidate, NewDigest, Selection, Settlement
from monitor.core.clock import Clock
from monitor.core.errors import MonitorError
from monitor.core.types import Outbound
from monitor.notify import Notifier, Outcome

log = structlog.get_logger("monitor.alerts")
# How long the near stage may take to file an article before its match is sent alone.
NEAR_GRACE = timedelta(minutes=10)
# A new route (or one whose selection changed) starts with the matches of the
# last day, not the whole history: its first digest is "what you missed today".
BACKFILL = timedelta(days=1)
MAX_CANDIDATES = 20_000  # read per build; a larger backlog goes into the next digests
# An instant alert of one story, and the one message that carries a flood's overflow:
# the digests a route's ``max_alerts`` caps.
INSTANT_KINDS = ("alert", "alerts")
LEASE_MARGIN = timedelta(seconds=10)
MAX_SENDS = 50  # per route and check


@dataclass
class AlertReport:
    digests: int = 0
    alerts: int = 0
    sent: int = 0
    retried: int = 0
    parked: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    settings: RouteSpec
    schedule: schedules.Schedule

    @property
    def name(self) -> str:
        return self.settings.name

    @classmethod
    def of(cls, settings: RouteSpec) -> Route:
        return cls(
            settings,
            schedules.parse(settings.schedule, settings.timezone, settings.quiet_hours),
        )

    def selector(self) -> str:
        """What the route selects, so that widening it starts from now."""
        s = self.settings
        picked = json.dumps([sorted(s.watchlists), sorted(s.rules), s.min_score])
        return hashlib.sha1(picked.encode(), usedforsecurity=False).hexdigest()


class AlertStage:
    def __init__(
        self,
        repo: AlertStore,
        routes: Sequence[RouteSpec],
        renderer: Renderer,
        notifiers: Mapping[str, Notifier],
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        domain: str = "monitor.localhost",
        wait_for_near: bool = True,
        titles: Callable[[], dict[str, str]] = dict,
        rng: random.Random | None = None,
    ) -> None:
        self.repo = repo
        self.routes = [Route.of(r) for r in routes]
        self.renderer = renderer
        self.notifiers = notifiers
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.domain = domain
        self.wait_for_near = wait_for_near
        self.titles = titles
        self.rng = rng or random.Random()

    # Building ------------------------------------------------------------------

    def build(self) -> AlertReport:
        """Each route's due alerts and digest into the outbox; one route's error spares the rest."""
        report = AlertReport()
        for route in self.routes:
            try:
                self._build_route(route, self.clock.now(), report)
            except MonitorError as exc:
                log.error("route.build_failed", route=route.name, error=exc.message)
                report.errors.append(f"{route.name}: {exc.message}")
            except Exception as exc:  # a bug or a database error: the other routes go on
                log.exception("route.build_failed", route=route.name)
                report.errors.append(f"{route.name}: {type(exc).__name__}: {exc}")
        return report

    def _build_route(self, route: Route, now: datetime, report: AlertReport) -> None:
        initial = schedules.initial_end(route.schedule, now)
        state = self.repo.sync_route(route.name, route.selector(), initial, now - BACKFILL)
        if state.disabled_reason:
            return  # matches wait, unsettled, until `monitor deliveries retry` enables it
        candidates = self.repo.alert_candidates(self._selection(route, state.since, now))
        if not route.schedule.held(now):
            candidates = self._send_urgent(route, candidates, now, report)
        period = schedules.next_period(route.schedule, state.last_end, state.last_key, now)
        backlog = len(candidates) >= MAX_CANDIDATES  # more wait beyond what was read
        if period is not None and not period.repeat:
            if self._still_arriving(route, period.end, now):
                return  # built at a later check, with what was on its way
            self._send_digest(route, candidates, period, now, report)
            candidates = []
        elif period is not None:
            # Keep the latest local time seen: the repeated hour must not lower it.
            key = max(period.key, state.last_key or period.key)
            self.repo.settle_only(route.name, Settlement(), period.end, key)
        if not backlog:
            self._move_since(route, state.since, candidates, now)

    def _still_arriving(self, route: Route, end: datetime, now: datetime) -> bool:
        """Whether the digest of a period ending at ``end`` waits: polls that began
        before it are in flight, or what they stored is not matched (and compared)
        yet; another worker may be doing either. Never longer than NEAR_GRACE."""
        if now >= end + NEAR_GRACE:
            return False
        if not self.repo.still_arriving(end, near=self.wait_for_near):
            return False
        log.info("digest.waiting", route=route.name, period_end=end.isoformat())
        return True

    def _send_digest(
        self,
        route: Route,
        candidates: list[Candidate],
        period: schedules.Period,
        now: datetime,
        report: AlertReport,
    ) -> None:
        made = self._digest(route, candidates)
        if made or route.settings.send_empty:
            self._save(route, made, "digest", period.key, period.end, now, report)
        elif route.schedule.cron is None:
            # An interval route sends when there is something: its period waits.
            self.repo.settle_only(route.name, made.settlement, None, period.key)
        else:
            self.repo.settle_only(route.name, made.settlement, period.end, period.key)

    def _move_since(
        self, route: Route, since: datetime, waiting: list[Candidate], now: datetime
    ) -> None:
        """Keep the candidate query to recent matches: all before the oldest waiting are settled.

        The grace covers the near stage's wait and a match committed a little
        after its time by another worker.
        """
        times = [c.matched_at for c in waiting if c.matched_at is not None]
        moved = min([*times, now - NEAR_GRACE])
        if moved > since:
            self.repo.advance_since(route.name, moved)

    def _send_urgent(
        self, route: Route, candidates: list[Candidate], now: datetime, report: AlertReport
    ) -> list[Candidate]:
        """Alerts for the urgent stories, at most ``max_alerts`` messages per
        ``alert_window`` (``flood``); returns the candidates left for later."""
        s = route.settings
        threshold = float("-inf") if route.schedule.instant else s.urgent_score
        keys = set(digests.urgent(candidates, threshold))
        if not keys:
            return candidates
        room = s.max_alerts - self.repo.count_digests(
            route.name, INSTANT_KINDS, now - timedelta(seconds=s.alert_window)
        )
        if room <= 0:
            log.debug("alerts.waiting", route=route.name, stories=len(keys))
            return candidates  # the window is full: they wait for it, unsettled
        urgent = [c for c in candidates if c.story_key in keys]
        news = self._digest(route, urgent).stories
        if stale := [c for c in urgent if c.story_key not in news]:
            # Sent before, nothing new: settled, and no message spent on them.
            self.repo.settle_only(route.name, self._digest(route, stale).settlement, None, "")
        made = flood.plan(flood.rank(urgent, news), room)
        for key in made.alone:
            self._send_alert(route, [c for c in urgent if c.story_key == key], "alert", now, report)
        if made.together:
            together = set(made.together)
            found = [c for c in urgent if c.story_key in together]
            log.info("alerts.capped", route=route.name, alone=len(made.alone), together=len(found))
            self._send_alert(route, found, "alerts", now, report)
        done = (keys - news) | set(made.alone) | set(made.together)
        return [c for c in candidates if c.story_key not in done]

    def _send_alert(
        self,
        route: Route,
        found: list[Candidate],
        kind: str,
        now: datetime,
        report: AlertReport,
    ) -> None:
        """One instant message; its period names its first match (settled with it, so
        no later message can have the same)."""
        first = min(found, key=lambda c: c.match_id)
        period = f"{kind}:{first.story_key}:{first.match_id}"
        # The stories past the cap are all listed (flood.py), not cut at max_entries.
        made = self._digest(route, found, everything=kind == "alerts")
        if made:
            self._save(route, made, kind, period, None, now, report)
        else:
            self.repo.settle_only(route.name, made.settlement, None, period)

    def _digest(
        self, route: Route, candidates: list[Candidate], everything: bool = False
    ) -> digests.Digest:
        keys = sorted({c.story_key for c in candidates})
        return digests.build(
            candidates,
            self.repo.sent_rules(route.name, keys),
            self.repo.story_sources(keys),
            len(keys) if everything else route.settings.max_entries,
        )

    def _save(
        self,
        route: Route,
        made: digests.Digest,
        kind: str,
        period: str,
        end: datetime | None,
        now: datetime,
        report: AlertReport,
    ) -> None:
        rendered = self.render(route, made, kind, now)
        channel = route.settings.channel
        message_id = new_id(channel, self.domain)
        stem = f"{route.name}-{period.replace(':', '-')}"
        payload = compose(
            route.settings, rendered, message_id=message_id, now=now, domain=self.domain, stem=stem
        )
        new = NewDigest(
            route=route.name,
            kind=kind,
            period=period,
            subject=rendered.subject,
            entries=len(made.entries),
            more=made.more,
            settlement=made.settlement,
            channel=channel,
            message_id=message_id,
            payload=payload,
        )
        if self.repo.save_digest(new, end, now) is None:
            log.info("digest.built_elsewhere", route=route.name, period=period)
            return
        if kind != "digest":
            report.alerts += 1
        else:
            report.digests += 1
        log.info(
            "digest.built", route=route.name, kind=kind, period=period, stories=len(made.entries)
        )

    def render(self, route: Route, made: digests.Digest, kind: str, now: datetime) -> Rendered:
        s = route.settings
        values = context(
            made,
            route=s.name,
            title=s.title or "monitor digest",
            kind=kind,
            now=now,
            zone=route.schedule.zone,
            watchlist_titles=self.titles(),
        )
        return self.renderer.render(values, s.template)

    def preview(self, name: str) -> tuple[digests.Digest, Rendered]:
        """The digest the route would send next, rendered; nothing is stored or sent."""
        route = next((r for r in self.routes if r.name == name), None)
        if route is None:
            known = ", ".join(r.name for r in self.routes) or "none"
            raise MonitorError(f"no route named {name!r} (routes: {known})")
        now = self.clock.now()
        state = self.repo.route_states().get(name)
        since = state.since if state else now - BACKFILL
        made = self._digest(route, self.repo.alert_candidates(self._selection(route, since, now)))
        return made, self.render(route, made, "digest", now)

    def _selection(self, route: Route, since: datetime, now: datetime) -> Selection:
        s = route.settings
        return Selection(
            route=s.name,
            since=since,
            limit=MAX_CANDIDATES,
            watchlists=s.watchlists,
            rules=tuple(_rule_pair(rule) for rule in s.rules),
            min_score=s.min_score,
            settled_before=now - NEAR_GRACE if self.wait_for_near else None,
        )

    # Delivering ----------------------------------------------------------------

    async def deliver(self, report: AlertReport | None = None) -> AlertReport:
        """Send what is due in the outbox; each route's deliveries in order, routes side by side."""
        report = report or AlertReport()
        sends = (self._deliver_route(name, n, report) for name, n in self.notifiers.items())
        await asyncio.gather(*sends)
        return report

    async def _deliver_route(self, route: str, notifier: Notifier, report: AlertReport) -> None:
        # One at a time, each leased for as long as one send may take: a worker
        # killed mid-send holds its delivery back by that much, no more.
        lease = timedelta(seconds=notifier.deadline) + LEASE_MARGIN
        for _ in range(MAX_SENDS):
            claimed = await asyncio.to_thread(
                self.repo.claim_deliveries, route, self.clock.now(), lease
            )
            if not claimed:
                return
            outcome = await notifier.send(claimed[0])
            await asyncio.to_thread(self._record, claimed[0], outcome, report)
            if not outcome.ok:
                return  # a failing receiver is not sent the rest in the same check

    def _record(self, delivery: Outbound, outcome: Outcome, report: AlertReport) -> None:
        now = self.clock.now()
        bound = log.bind(route=delivery.route, delivery=delivery.id)
        if outcome.ok:
            self.repo.delivery_done(delivery.id, now, "sent", error=outcome.error)
            report.sent += 1
            bound.info("delivery.sent", warning=outcome.error)
            return
        error = outcome.error or "failed"
        if outcome.disable:
            self.repo.disable_route(delivery.route, error, now)
            self.repo.delivery_done(delivery.id, now, "parked", error=error)
            report.parked += 1
            bound.error("route.disabled", error=error, hint="monitor deliveries retry ID")
            return
        retry_at = next_attempt(outcome, delivery.attempts + 1, now, self.policy, self.rng)
        state: Literal["pending", "parked"] = "parked" if retry_at is None else "pending"
        self.repo.delivery_done(delivery.id, now, state, error=error, retry_at=retry_at)
        if retry_at is None:
            report.parked += 1
            bound.error("delivery.parked", error=error, attempts=delivery.attempts + 1)
        else:
            report.retried += 1
            bound.warning("delivery.retry", error=error, at=retry_at.isoformat())

    async def aclose(self) -> None:
        for notifier in self.notifiers.values():
            await notifier.aclose()


def _rule_pair(rule: str) -> tuple[str, str]:
    """``watchlist/rule`` as (watchlist, rule); a bare ``rule`` as ("", rule): any watchlist's."""
    watchlist, _, name = rule.rpartition("/")
    return watchlist, name
