"""Security hazards at CI scale: every figure must meet its target."""

from __future__ import annotations

from tests.reliability import security
from tests.reliability.figures import Scale, assert_met

CI = Scale.ci()


def test_a_backtracking_regex_never_holds_the_process() -> None:
    assert_met(security.regex_backtracking(CI))


def test_feed_text_never_styles_or_breaks_the_terminal() -> None:
    assert_met(security.terminal_markup(CI))


def test_no_secret_is_printed() -> None:
    assert_met(security.secrets_shown(CI))


def test_the_status_page_answers_only_its_own_names_and_token() -> None:
    assert_met(security.http_surface(CI))
