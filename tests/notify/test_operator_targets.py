"""Webhook and SMTP targets are the operator's, not a feed's: network.allow_private
does not apply to them (README, "What it defends against").

They are written in monitor.yaml, whose author could point them anywhere, and are
usually private: a mail relay, self-hosted chat, Mailpit on the compose network.
What keeps a stranger from steering a delivery is that nothing from outside can
change the target: a webhook's redirect is never followed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alert.world import SAMPLE_STORIES, cycle, open_app, sample_config
from tests.conftest import FakeClock
from tests.feedserver import FeedServer, redirect
from tests.receivers import SmtpReceiver, WebhookReceiver

STRICT = "network: {allow_private: false}"


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def test_a_webhook_on_a_private_address_is_delivered_under_the_strict_policy(
    tmp_path: Path, clock: FakeClock, hook: WebhookReceiver
) -> None:
    routes = f"  - {{name: chat, schedule: instant, webhook: {{url: '{hook.url()}'}}}}"
    cfg = sample_config(tmp_path, f"sqlite:///{tmp_path}/m.db", routes, extra=STRICT)
    assert not cfg.policy().allow_all
    with open_app(cfg, clock) as app:
        assert cycle(app).sent == SAMPLE_STORIES
    assert len(hook.wait_for(SAMPLE_STORIES)) == SAMPLE_STORIES


def test_an_smtp_relay_on_a_private_address_is_used_under_the_strict_policy(
    tmp_path: Path, clock: FakeClock
) -> None:
    with SmtpReceiver("none") as smtp:
        email = (
            f"email: {{host: 127.0.0.1, port: {smtp.port}, security: none, "
            "from: m@monitor.test, to: [desk@monitor.test]}"
        )
        routes = f"  - {{name: mail, schedule: instant, {email}}}"
        cfg = sample_config(tmp_path, f"sqlite:///{tmp_path}/m.db", routes, extra=STRICT)
        with open_app(cfg, clock) as app:
            assert cycle(app).sent == SAMPLE_STORIES
        assert len(smtp.wait_for(SAMPLE_STORIES)) == SAMPLE_STORIES


def test_a_webhook_redirect_is_never_followed(
    tmp_path: Path, clock: FakeClock, server: FeedServer, forbidden: FeedServer
) -> None:
    # The receiver answers 307 to a second server: the delivery is parked, with the
    # reason, and the second server never hears of it.
    server.routes["/hook"] = redirect(forbidden.url("/steal"), 307)
    routes = f"  - {{name: chat, schedule: instant, webhook: {{url: '{server.url('/hook')}'}}}}"
    cfg = sample_config(tmp_path, f"sqlite:///{tmp_path}/m.db", routes, extra=STRICT)
    with open_app(cfg, clock) as app:
        report = cycle(app)
        deliveries = app.repo.deliveries()
    assert report.sent == 0 and server.hits["/hook"] >= 1
    assert sum(forbidden.hits.values()) == 0
    assert all(d.state != "sent" for d in deliveries)
    assert any("configure the final URL" in (d.last_error or "") for d in deliveries)
