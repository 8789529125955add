"""SQLite's log goes back into the database file off the writers' path, and always does."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from monitor.store import engine as engines
from monitor.store.checkpoint import Checkpointer

ROWS = 300
BLOB = 16_000  # 300 rows of 16 KB: about 1,200 pages, past SQLite's own 1,000


def _engine(path: Path, checkpointer: Checkpointer) -> Engine:
    engine = engines._sqlite_engine(f"sqlite:///{path}")
    engines._CHECKPOINTERS[engine].close()  # the default one: this test's instead
    engines._checkpoint_in_background(engine, checkpointer)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"))
    return engine


def _write(engine: Engine, start: int = 0) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO t (id, body) VALUES (:id, randomblob(:size))"),
            [{"id": start + i, "size": BLOB} for i in range(ROWS)],
        )


def _rows_in_the_file_alone(path: Path, tmp: Path) -> int:
    """What a copy of the database file without its log holds (a backup made by ``cp``)."""
    copy = tmp / "copy.db"
    shutil.copy(path, copy)
    with sqlite3.connect(copy) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
        except sqlite3.OperationalError:  # the table itself is still in the log
            return 0
        except sqlite3.DatabaseError:  # copied while a checkpoint wrote it: torn
            return -1


def _eventually(check: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_commit_past_a_thousand_pages_returns_without_copying_the_log_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.db"
    checkpointer = Checkpointer(str(path), every=3600)  # not before the test looks
    engine = _engine(path, checkpointer)
    try:
        _write(engine)
        assert _rows_in_the_file_alone(path, tmp_path) == 0
    finally:
        engine.dispose()
        checkpointer._stopped.set()  # no last checkpoint either: nothing to wait for
        checkpointer._due.set()


def test_the_log_is_copied_back_soon_after_writes_and_again_after_an_idle_spell(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitor.db"
    checkpointer = Checkpointer(str(path), every=0.05, idle=0.2)
    engine = _engine(path, checkpointer)
    try:
        _write(engine)
        assert _eventually(lambda: _rows_in_the_file_alone(path, tmp_path) == ROWS)
        assert _eventually(lambda: checkpointer._thread is None)  # idle: the thread ended
        _write(engine, start=ROWS)
        assert _eventually(lambda: _rows_in_the_file_alone(path, tmp_path) == 2 * ROWS)
    finally:
        engines.close_engine(engine)


def test_closing_the_repository_leaves_everything_in_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    checkpointer = Checkpointer(str(path), every=3600)
    engine = _engine(path, checkpointer)
    _write(engine)
    reader = sqlite3.connect(path)  # another process's connection stays open
    try:
        engines.close_engine(engine)
        assert _rows_in_the_file_alone(path, tmp_path) == ROWS
    finally:
        reader.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_a_database_in_memory_needs_no_checkpoints(url: str) -> None:
    engine = engines.make_engine(url)
    try:
        assert engine not in engines._CHECKPOINTERS
        with engine.begin() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engines.close_engine(engine)
