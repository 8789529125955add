"""Start and talk to the feed server process (bench/feedserver.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = ("feed_requests", "ok", "not_modified", "not_found", "connections")


class FeedServer:
    """The loopback feed server, in its own process, for a ``with`` block."""

    def __init__(self, feeds: int, entries: int, workdir: Path, seed: int = 1) -> None:
        self.feeds, self.entries, self.seed = feeds, entries, seed
        self.opml_path = workdir / "feeds.opml"
        self.urls_path = workdir / "feeds.txt"
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> FeedServer:
        cmd = [sys.executable, "-m", "bench.feedserver", "--feeds", str(self.feeds)]
        cmd += ["--entries", str(self.entries), "--seed", str(self.seed)]
        cmd += ["--opml", str(self.opml_path)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks while the feeds are rendered
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"feed server failed to start (said {line!r})")
        self.port = int(line.split()[1])
        self.urls_path.write_text("\n".join(self.urls) + "\n")
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else -1

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/feeds/{i}.xml" for i in range(self.feeds)]

    def stats(self) -> dict[str, int]:
        url = f"http://127.0.0.1:{self.port}/stats"
        for attempt in range(5):
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    data: dict[str, int] = json.load(resp)
                    return data
            except OSError:
                if attempt == 4:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after.get(key, 0) - before.get(key, 0) for key in COUNTERS}
