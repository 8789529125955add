"""A receiver's own words in a delivery error never carry terminal escapes or secrets.

The reason phrase of a webhook's answer is text the receiver chose; it is stored
as the delivery's last error and shown by ``deliveries list`` and the status
page. Escapes in it would restyle or hyperlink the terminal of whoever looks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alert.world import cycle, open_app, sample_config
from tests.conftest import FakeClock
from tests.rawhttp import RawServer

CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
ANSWER = (
    b"HTTP/1.1 503 Busy \x1b[31mred\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 "
    b"https://user:hunter2@evil.example/\r\nRetry-After: 60\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


@pytest.fixture
def hostile_receiver() -> Iterator[RawServer]:
    server = RawServer(ANSWER).start()
    yield server
    server.stop()


def test_a_hostile_reason_phrase_is_stored_as_one_clean_line(
    tmp_path: Path, clock: FakeClock, hostile_receiver: RawServer
) -> None:
    route = f"  - name: hook\n    webhook: {{url: '{hostile_receiver.url('/hook')}'}}\n"
    config = sample_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", route)
    with open_app(config, clock) as app:
        assert cycle(app).retried == 1
        (delivery,) = app.repo.deliveries()
    assert hostile_receiver.hits == 1
    error = delivery.last_error or ""
    assert "Busy" in error and "red" in error  # the words are kept, as one line
    assert not CONTROLS.search(error), repr(error)
    assert "hunter2" not in error
