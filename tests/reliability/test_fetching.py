"""Fetching, parsing and storing hazards at CI scale: every figure must meet its target."""

from __future__ import annotations

import pytest

from tests.reliability import fetching
from tests.reliability.figures import Scale, assert_met

CI = Scale.ci()


def test_no_spelling_of_a_non_global_address_is_fetched() -> None:
    results = fetching.try_spellings()
    # Refused, or (for "localhost." here) a name this machine cannot resolve at all.
    neither = [
        f"{r.host}: {r.result.error}"
        for r in results
        if not fetching.is_refusal(r.result) and not fetching.is_unresolvable(r.result)
    ]
    assert neither == []
    assert [r.host for r in results if r.reached] == []
    # The control: most spellings are live ways to the server, so refusing them matters.
    live = [r.host for r in results if r.reached_when_allowed]
    assert len(live) >= 10, live


def test_the_address_spellings_figure() -> None:
    assert_met(fetching.address_spellings(CI))


def test_a_redirect_never_reaches_a_forbidden_server() -> None:
    assert_met(fetching.redirects_to_forbidden(CI))


def test_a_file_url_is_a_clear_error() -> None:
    assert_met(fetching.file_scheme_in_config(CI))


def test_a_rebinding_name_never_reaches_loopback() -> None:
    assert_met(fetching.dns_rebinding(CI))


def test_decompression_bombs_stay_under_the_cap() -> None:
    figures = fetching.decompression_bombs(CI)
    assert len(figures) == len(fetching.bombs())
    assert_met(figures)


def test_slow_and_stalled_servers_end_at_the_deadline() -> None:
    assert_met(fetching.slow_servers(CI))


def test_hostile_feeds_hurt_only_themselves() -> None:
    run = fetching.mixed_run(cycles=2)
    assert run.wrong == ()
    assert run.healthy_new == (1, 1)
    assert run.forbidden_hits == 0


def test_hostile_documents_are_parsed_in_bounded_time_with_capped_fields() -> None:
    assert_met(fetching.hostile_documents(CI))


@pytest.mark.postgres
def test_odd_bytes_and_oversized_fields_are_stored_on_both_databases() -> None:
    assert_met(fetching.odd_bytes_stored(CI))


def test_absurd_dates_are_never_in_the_future() -> None:
    assert_met(fetching.absurd_dates(CI))


def test_missing_and_colliding_guids_give_one_story_and_one_alert() -> None:
    assert_met(fetching.colliding_guids(CI))


def test_a_churning_body_is_one_article_and_at_most_one_alert() -> None:
    assert_met(fetching.churning_bodies(CI))
