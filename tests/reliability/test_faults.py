"""The alerting and running hazards at CI scale: each scenario's figures must meet their targets.

The same scenarios, at full scale, write docs/reliability.md (``python -m tests.reliability``).
"""

from __future__ import annotations

import pytest

from tests.reliability import faults
from tests.reliability.figures import Scale, assert_met


@pytest.mark.postgres
@pytest.mark.timeout(240)  # a daemon killed inside a stage holds its lease for 60 s
def test_killing_the_daemon_during_ingestion_and_delivery_loses_nothing() -> None:
    figures = faults.kill_scenario(Scale.ci())
    assert len(figures) == 2  # SQLite and PostgreSQL
    assert_met(figures)


def test_failing_hanging_and_gone_receivers_each_get_their_digest_once_after_recovery() -> None:
    assert_met(faults.delivery_scenario(Scale.ci()))


def test_processes_writing_one_sqlite_file_meet_no_lock_error() -> None:
    assert_met(faults.sqlite_writers_scenario(Scale.ci()))


def test_cron_digests_come_once_per_local_period_across_both_dst_changes() -> None:
    assert_met(faults.dst_scenario(Scale.ci()))


def test_bad_watchlist_edits_under_a_running_daemon_keep_the_last_good_version() -> None:
    assert_met(faults.watchlist_scenario(Scale.ci()))
