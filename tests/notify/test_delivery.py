"""Digests reach users through real channels: files, SMTP with TLS, signed webhooks."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from standardwebhooks.webhooks import Webhook

from tests.alert.world import EVENT_TITLE, FEEDS, SAMPLE_STORIES, cycle, open_app, sample_config
from tests.conftest import FakeClock
from tests.receivers import SmtpReceiver, WebhookReceiver

SECRET_NEW = "whsec_" + "bmV3LXNlY3JldC1rZXktZm9yLXRlc3RzLTAxMjM0NQ=="
SECRET_OLD = "whsec_" + "b2xkLXNlY3JldC1rZXktZm9yLXRlc3RzLTAxMjM0NQ=="


def file_route(tmp: Path, extra: str = "") -> str:
    return f"  - {{name: desk, file: {{dir: '{tmp / 'digests'}'}}, schedule: every 1h{extra}}}"


def test_the_first_digest_holds_one_entry_per_story_with_its_other_sources(
    tmp_path: Path, db_url: str, clock: FakeClock
) -> None:
    app = open_app(sample_config(tmp_path, db_url, file_route(tmp_path)), clock)
    with app:
        report = cycle(app)
    assert (report.digests, report.sent) == (1, 1)
    payload = json.loads(next((tmp_path / "digests").glob("desk-*.json")).read_text())
    entries = [e for g in payload["groups"] for e in g["entries"]]
    assert len(entries) == SAMPLE_STORIES == payload["count"]
    event = next(e for e in entries if e["title"] == EVENT_TITLE)
    # The wire story leads (whichever of its three exact copies was read first),
    # never the spun copy; every other outlet is listed once.
    assert event["source"] in {"Global Wire", "The Daily Courier", "Eurasia Monitor"}
    # Four other outlets, and every report: Eurasia Monitor has three.
    assert len({s["name"] for s in event["also"]} - {event["source"]}) == 4
    assert len(event["also"]) == 6
    assert {event["source"]} | {s["name"] for s in event["also"]} == set(FEEDS.values())
    assert payload["groups"][0]["watchlist"] == "north-korea-russia"  # best first
    html = (tmp_path / "digests" / "latest.html").read_text()
    headings = re.findall(r"<h3>(.*?)</h3>", html)
    assert len(headings) == SAMPLE_STORIES
    assert sum(str(escape(EVENT_TITLE)) in h for h in headings) == 1
    assert "<mark>" in html and "Also reported by 4 outlets (6 articles)" in html


def test_no_story_is_sent_twice_across_restarts_and_later_copies(
    tmp_path: Path, db_url: str, clock: FakeClock
) -> None:
    cfg = sample_config(tmp_path, db_url, file_route(tmp_path))
    with open_app(cfg, clock) as app:
        assert cycle(app).digests == 1
    clock.advance(hours=2)
    wire = (tmp_path / "feeds" / "globalwire.rss").read_text()
    # A site reprints the wire story under its own address: a copy, the same story.
    (tmp_path / "feeds" / "extra.rss").write_text(
        wire.replace("globalwire.example", "reprints.example").replace("Global Wire", "Extra")
    )
    with open_app(cfg, clock) as app:  # a restarted daemon
        report = cycle(app)
        assert (report.digests, report.alerts) == (0, 0)
        assert len(app.repo.deliveries()) == 1
    assert len(list((tmp_path / "digests").glob("desk-*.json"))) == 1


def test_email_over_starttls_with_credentials_from_the_environment(
    tmp_path: Path,
    db_url: str,
    clock: FakeClock,
    smtp_starttls: SmtpReceiver,
    smtp_credentials: str,
) -> None:
    route = (
        f"  - name: analysts\n    title: Korea desk\n    email: {{host: localhost, "
        f"port: {smtp_starttls.port}, from: monitor@example.org, to: [desk@example.org], "
        f"{smtp_credentials}, ca_file: '{smtp_starttls.ca_pem_path}', "
        f"list_unsubscribe: 'mailto:desk-admin@example.org'}}\n"
    )
    with open_app(sample_config(tmp_path, db_url, route), clock) as app:
        assert cycle(app).sent == 1
        stored = app.repo.deliveries()[0]
    (mail,) = smtp_starttls.wait_for(1)
    message = mail.message
    assert mail.rcpt_tos == ["desk@example.org"]
    assert message["Message-ID"] == stored.message_id
    assert message["List-Id"] == "Korea desk <analysts.monitor.localhost>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] == "<mailto:desk-admin@example.org>"
    assert message["Subject"].startswith("[Korea desk] 4 stories: ")
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds == ["multipart/alternative", "text/plain", "text/html"]
    assert EVENT_TITLE in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_email_over_implicit_tls(
    tmp_path: Path,
    db_url: str,
    clock: FakeClock,
    smtp_implicit: SmtpReceiver,
    smtp_credentials: str,
) -> None:
    route = (
        f"  - name: analysts\n    email: {{host: localhost, port: {smtp_implicit.port}, "
        "security: tls, from: monitor@example.org, to: [desk@example.org], "
        f"{smtp_credentials}, ca_file: '{smtp_implicit.ca_pem_path}'}}\n"
    )
    with open_app(sample_config(tmp_path, db_url, route), clock) as app:
        assert cycle(app).sent == 1
    assert len(smtp_implicit.wait_for(1)) == 1


def test_an_untrusted_certificate_is_never_sent_to_and_the_delivery_is_parked(
    tmp_path: Path, clock: FakeClock, smtp_starttls: SmtpReceiver
) -> None:
    route = (
        f"  - name: analysts\n    email: {{host: localhost, port: {smtp_starttls.port}, "
        "from: monitor@example.org, to: [desk@example.org]}\n"
    )
    db = sqlite(tmp_path)
    with open_app(sample_config(tmp_path, db, route), clock) as app:
        report = cycle(app)
        (delivery,) = app.repo.deliveries()
    assert (report.sent, report.parked) == (0, 1)
    assert delivery.state == "parked"
    assert "certificate" in (delivery.last_error or "")
    assert smtp_starttls.messages == []


def _plain_smtp_route(receiver: SmtpReceiver) -> str:
    return (
        f"  - name: analysts\n    email: {{host: 127.0.0.1, port: {receiver.port}, "
        "security: none, from: monitor@example.org, to: [desk@example.org]}\n"
    )


def test_a_4xx_smtp_reply_is_retried_later_with_the_same_message_id(
    tmp_path: Path, clock: FakeClock, smtp_plain: SmtpReceiver
) -> None:
    smtp_plain.fail_next(1, "tempfail")
    db = sqlite(tmp_path)
    extra = "alerts: {retry_base: 60s}"
    with open_app(sample_config(tmp_path, db, _plain_smtp_route(smtp_plain), extra), clock) as app:
        assert cycle(app).retried == 1
        (waiting,) = app.repo.deliveries()
        assert waiting.state == "pending" and "451" in (waiting.last_error or "")
        assert waiting.next_attempt_at >= clock.now() + timedelta(seconds=30)
        assert cycle(app).sent == 0  # not due yet
        clock.advance(seconds=91)
        assert cycle(app).sent == 1
        (sent,) = app.repo.deliveries()
    (mail,) = smtp_plain.wait_for(1)
    assert mail.message["Message-ID"] == sent.message_id
    assert (sent.state, sent.attempts) == ("sent", 2)


def test_a_5xx_smtp_reply_parks_the_delivery_until_a_person_retries_it(
    tmp_path: Path, clock: FakeClock, smtp_plain: SmtpReceiver
) -> None:
    smtp_plain.set_mode("permfail")
    db = sqlite(tmp_path)
    with open_app(sample_config(tmp_path, db, _plain_smtp_route(smtp_plain)), clock) as app:
        assert cycle(app).parked == 1
        (parked,) = app.repo.deliveries()
        assert parked.state == "parked" and "550" in (parked.last_error or "")
        smtp_plain.set_mode("ok")
        assert app.repo.retry_delivery(parked.id, clock.now()) is not None
        assert cycle(app).sent == 1
    assert len(smtp_plain.wait_for(1)) == 1


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET_NEW)


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'm.db'}"


def _webhook_route(receiver: WebhookReceiver, fmt: str = "standard", extra: str = "") -> str:
    return (
        f"  - name: hook\n    webhook: {{url: '{receiver.url()}', format: {fmt}, "
        f"secret_env: TEST_WEBHOOK_SECRET{extra}}}\n"
    )


def test_webhooks_verify_with_the_reference_library_during_a_key_rotation(
    tmp_path: Path,
    db_url: str,
    clock: FakeClock,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", f"{SECRET_NEW} {SECRET_OLD}")
    clock.current = datetime.now(UTC)  # the verifier refuses a timestamp 5 minutes off
    with open_app(sample_config(tmp_path, db_url, _webhook_route(webhook_receiver)), clock) as app:
        assert cycle(app).sent == 1
        (stored,) = app.repo.deliveries()
    (request,) = webhook_receiver.wait_for(1)
    assert request.headers["webhook-id"] == stored.message_id
    for secret in (SECRET_NEW, SECRET_OLD):  # receivers on either key accept it
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["count"] == SAMPLE_STORIES
    stale = request.headers | {"webhook-timestamp": str(int(time.time()) - 6 * 60)}
    with pytest.raises(Exception, match="too old"):  # a replay six minutes on is refused
        Webhook(SECRET_NEW).verify(request.body, stale)
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=").verify(
            request.body, request.headers
        )


def test_a_failing_webhook_is_retried_with_the_same_id_honouring_retry_after(
    tmp_path: Path,
    clock: FakeClock,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.respond(503)
    webhook_receiver.respond(429, retry_after="600")
    db = sqlite(tmp_path)
    with open_app(sample_config(tmp_path, db, _webhook_route(webhook_receiver)), clock) as app:
        assert cycle(app).retried == 1
        clock.advance(hours=1)
        assert cycle(app).retried == 1
        (waiting,) = app.repo.deliveries()
        assert waiting.next_attempt_at >= clock.now() + timedelta(seconds=600)
        clock.advance(seconds=601)
        assert cycle(app).sent == 1
    statuses = [r.status for r in webhook_receiver.requests]
    assert statuses == [503, 429, 200]
    assert len({r.headers["webhook-id"] for r in webhook_receiver.requests}) == 1
    assert len({r.body for r in webhook_receiver.requests}) == 1


def test_a_hanging_webhook_times_out_and_is_retried(
    tmp_path: Path,
    clock: FakeClock,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.hang(2)
    db = sqlite(tmp_path)
    route = _webhook_route(webhook_receiver, extra=", timeout: 1s")
    with open_app(sample_config(tmp_path, db, route), clock) as app:
        assert cycle(app).retried == 1
        clock.advance(hours=2)
        assert cycle(app).sent == 1
    first, again = webhook_receiver.wait_for(2)  # the hung one is answered late, too
    assert first.headers["webhook-id"] == again.headers["webhook-id"]


def test_a_410_disables_the_route_until_a_person_retries(
    tmp_path: Path,
    clock: FakeClock,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.respond(410)
    db = sqlite(tmp_path)
    with open_app(sample_config(tmp_path, db, _webhook_route(webhook_receiver)), clock) as app:
        assert cycle(app).parked == 1
        assert "gone" in (app.repo.route_states()["hook"].disabled_reason or "")
        clock.advance(hours=5)
        assert cycle(app).digests == 0  # disabled: nothing built, nothing lost
        (parked,) = app.repo.deliveries()
        app.repo.retry_delivery(parked.id, clock.now())
        assert cycle(app).sent == 1
    assert len(webhook_receiver.accepted()) == 1


@pytest.mark.parametrize(
    ("fmt", "key"),
    [("slack", "blocks"), ("discord", "embeds"), ("teams", "attachments"), ("mattermost", "text")],
)
def test_chat_formats_post_their_own_json(
    tmp_path: Path,
    clock: FakeClock,
    webhook_receiver: WebhookReceiver,
    fmt: str,
    key: str,
) -> None:
    db = sqlite(tmp_path)
    with open_app(sample_config(tmp_path, db, _webhook_route(webhook_receiver, fmt)), clock) as app:
        assert cycle(app).sent == 1
    (request,) = webhook_receiver.wait_for(1)
    body = json.loads(request.body)
    assert key in body
    assert "North Korea" in request.body.decode()
    assert "webhook-signature" not in request.headers  # chat webhooks carry no signature


def test_an_smtp_server_that_stops_answering_is_given_up_on_and_retried(
    tmp_path: Path, clock: FakeClock, smtp_plain: SmtpReceiver
) -> None:
    smtp_plain.fail_next(1, "hang")
    route = _plain_smtp_route(smtp_plain).replace("security: none", "security: none, timeout: 0.5s")
    with open_app(sample_config(tmp_path, sqlite(tmp_path), route), clock) as app:
        started = time.monotonic()
        assert cycle(app).retried == 1
        assert time.monotonic() - started < 10  # its deadline (4 × 0.5 s), not for ever
        assert "no answer" in (app.repo.deliveries()[0].last_error or "")
        clock.advance(hours=1)
        assert cycle(app).sent == 1
    assert len(smtp_plain.wait_for(1)) == 1


def test_a_410_holds_the_routes_other_deliveries_and_a_retry_sends_them_all(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.respond(410)
    route = _webhook_route(webhook_receiver).replace(
        "  - name: hook\n", "  - name: hook\n    schedule: instant\n"
    )
    with open_app(sample_config(tmp_path, sqlite(tmp_path), route), clock) as app:
        assert cycle(app).parked == 1
        states = sorted(d.state for d in app.repo.deliveries())
        assert states == ["held"] * (SAMPLE_STORIES - 1) + ["parked"]
        parked = next(d for d in app.repo.deliveries() if d.state == "parked")
        app.repo.retry_delivery(parked.id, clock.now())
        assert cycle(app).sent == SAMPLE_STORIES
    assert len({r.headers["webhook-id"] for r in webhook_receiver.accepted()}) == SAMPLE_STORIES
