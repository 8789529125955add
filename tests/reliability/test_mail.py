"""Hostile titles in mail headers and floods of matches, at CI scale."""

from __future__ import annotations

from tests.reliability import mail
from tests.reliability.figures import Scale, assert_met


def test_encoded_words_in_titles_never_add_a_header_recipient_or_body() -> None:
    assert_met(mail.header_injection(Scale.ci()))


def test_a_flood_of_matches_stays_under_the_cap_and_every_story_arrives_once() -> None:
    assert_met(mail.alert_flood(Scale.ci()))
