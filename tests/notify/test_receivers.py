"""The receivers themselves behave, so alert-delivery tests can trust them."""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from email.message import EmailMessage

import httpx
import pytest

from tests.receivers import SMTP_AUTH, SmtpReceiver, WebhookReceiver


def _mail(subject: str = "Alert: ACME") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "monitor@example.org"
    msg["To"] = "ops@example.org"
    msg["Subject"] = subject
    msg.set_content("Café prices up 5 %")
    return msg


def test_starttls_with_trusted_ca_delivers_and_parses(smtp_starttls: SmtpReceiver) -> None:
    ctx = ssl.create_default_context(cafile=smtp_starttls.ca_pem_path)
    with smtplib.SMTP("localhost", smtp_starttls.port, timeout=5) as client:
        client.starttls(context=ctx)
        client.login(*SMTP_AUTH)
        client.send_message(_mail())
    [mail] = smtp_starttls.wait_for(1, timeout=2)
    assert mail.mail_from == "monitor@example.org"
    assert mail.rcpt_tos == ["ops@example.org"]
    assert mail.message["Subject"] == "Alert: ACME"
    assert mail.message.get_content().strip() == "Café prices up 5 %"


def test_starttls_required_and_auth_required(smtp_starttls: SmtpReceiver) -> None:
    with smtplib.SMTP(smtp_starttls.host, smtp_starttls.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as plain:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nx")
        assert plain.value.smtp_code == 530  # must STARTTLS first
        client.starttls(context=smtp_starttls.client_context())
        client.ehlo()
        with pytest.raises(smtplib.SMTPSenderRefused) as anon:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nx")
        assert anon.value.smtp_code == 530  # must AUTH first
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("monitor", "wrong")


def test_default_context_rejects_the_test_ca(smtp_starttls: SmtpReceiver) -> None:
    with (
        smtplib.SMTP("localhost", smtp_starttls.port, timeout=5) as client,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.starttls(context=ssl.create_default_context())


def test_implicit_tls(smtp_implicit: SmtpReceiver) -> None:
    ctx = smtp_implicit.client_context()
    with smtplib.SMTP_SSL("127.0.0.1", smtp_implicit.port, context=ctx, timeout=5) as client:
        client.login(*SMTP_AUTH)
        client.send_message(_mail("over implicit TLS"))
    assert smtp_implicit.wait_for(1)[0].message["Subject"] == "over implicit TLS"


def test_tempfail_then_ok(smtp_plain: SmtpReceiver) -> None:
    smtp_plain.fail_next(1, "tempfail")
    with smtplib.SMTP(smtp_plain.host, smtp_plain.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPDataError) as err:
            client.send_message(_mail())
        assert err.value.smtp_code == 451
        client.send_message(_mail())
    assert len(smtp_plain.wait_for(1)) == 1


def test_permfail_drop_and_hang(smtp_plain: SmtpReceiver) -> None:
    smtp_plain.set_mode("permfail")
    with smtplib.SMTP(smtp_plain.host, smtp_plain.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPDataError) as err:
            client.send_message(_mail())
        assert err.value.smtp_code == 550
    smtp_plain.set_mode("drop")
    client = smtplib.SMTP(smtp_plain.host, smtp_plain.port, timeout=5)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.send_message(_mail())
    smtp_plain.set_mode("hang")
    with (
        smtplib.SMTP(smtp_plain.host, smtp_plain.port, timeout=0.3) as client,
        pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"),
    ):
        client.send_message(_mail())
    # A hang released by set_mode() answers with the new mode.
    smtp_plain.set_mode("hang")
    threading.Timer(0.2, smtp_plain.set_mode, ["ok"]).start()
    with smtplib.SMTP(smtp_plain.host, smtp_plain.port, timeout=5) as client:
        client.send_message(_mail())
    assert len(smtp_plain.messages) == 1


def test_smtp_stop_returns_with_a_hanging_session() -> None:
    receiver = SmtpReceiver("none").start()
    receiver.set_mode("hang")
    client = smtplib.SMTP(receiver.host, receiver.port, timeout=5)
    errors: list[smtplib.SMTPException] = []

    def send() -> None:
        try:
            client.send_message(_mail())
        except smtplib.SMTPException as exc:
            errors.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.2)
    started = time.monotonic()
    receiver.stop()
    assert time.monotonic() - started < 1
    sender.join(2)
    assert isinstance(errors[0], smtplib.SMTPServerDisconnected)  # cut off, not answered


def test_webhook_records_headers_and_body(webhook_receiver: WebhookReceiver) -> None:
    response = httpx.post(
        webhook_receiver.url("/alerts"), json={"id": 1}, headers={"X-Signature": "abc"}
    )
    assert response.status_code == 200
    [req] = webhook_receiver.wait_for(1)
    assert req.path == "/alerts"
    assert req.headers["x-signature"] == "abc"
    assert req.headers["content-type"] == "application/json"
    assert req.body == b'{"id":1}'


def test_webhook_scripted_statuses(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.respond(429, retry_after="2")
    webhook_receiver.respond(503, times=2)
    with httpx.Client() as client:  # one keep-alive connection for all
        statuses = [client.post(webhook_receiver.url(), content=b"x") for _ in range(4)]
    assert [r.status_code for r in statuses] == [429, 503, 503, 200]
    assert statuses[0].headers["retry-after"] == "2"
    assert "retry-after" not in statuses[1].headers
    assert [r.status for r in webhook_receiver.requests] == [429, 503, 503, 200]
    assert len(webhook_receiver.accepted()) == 1
    with pytest.raises(AssertionError, match="expected 2 accepted"):
        webhook_receiver.wait_for(2, timeout=0.1)


def test_webhook_hang_times_out_and_stop_is_fast() -> None:
    receiver = WebhookReceiver().start()
    receiver.hang(30)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(receiver.url(), content=b"x", timeout=0.3)
    started = time.monotonic()
    receiver.stop()
    assert time.monotonic() - started < 1
    assert receiver.requests == []  # never answered, so not recorded
