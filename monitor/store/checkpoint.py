"""SQLite's write-ahead log copied back into the database file on a thread of its own.

By default SQLite does it inside the commit that takes the log past 1,000
pages: that commit waits for the copy and for an fsync of the database file.
The near stage's batches dirty thousands of the index's pages each (its keys
are random), so every batch paid for one: about 30 ms of its 350 ms with
100,000 articles indexed. Here the writers' connections never checkpoint;
after a write commits, this thread does it on its own connection (PASSIVE: it
takes no lock a writer needs), at most once per ``every`` seconds, so a page
several batches rewrote is copied once. The thread ends after ``idle`` seconds
without commits and starts again with the next one, so an engine nobody
closes leaves no thread behind for long; SQLite checkpoints on its own when
the last connection to the file closes.
"""

from __future__ import annotations

import sqlite3
import threading

import structlog

log = structlog.get_logger("monitor.store")

EVERY_S = 0.5
IDLE_S = 30.0


class Checkpointer:
    def __init__(self, path: str, every: float = EVERY_S, idle: float = IDLE_S) -> None:
        self.path, self.every, self.idle = path, every, idle
        self._due = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """A write committed: the log has pages to copy back."""
        self._due.set()
        with self._lock:
            if self._stopped.is_set() or self._thread is not None:
                return  # a running thread sees ``_due`` before it ends (``_idle``)
            self._thread = threading.Thread(target=self._run, name="sqlite-wal", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the thread after a last checkpoint."""
        with self._lock:
            self._stopped.set()
            self._due.set()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while self._due.wait(self.idle) or not self._idle():
                stopping = self._stopped.wait(self.every)  # let a few commits gather
                self._due.clear()
                self._checkpoint(conn)
                if stopping:
                    return
        finally:
            conn.close()

    def _idle(self) -> bool:
        """True when no commit came in the meantime: the thread is then gone for
        ``committed``, which starts another with the next commit."""
        with self._lock:
            if self._due.is_set():
                return False
            self._thread = None
            return True

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # busy or gone: the next commit asks again
            log.warning("store.checkpoint_failed", path=self.path, error=str(exc))
