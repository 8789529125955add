"""Start and talk to the feed server process (bench/feedserver.py)."""

from __future__ import annotations

from pathlib import Path

from bench.loopback import ServerProcess

COUNTERS = ("feed_requests", "ok", "not_modified", "not_found", "connections")


class FeedServer(ServerProcess):
    """The loopback feed server, in its own process, for a ``with`` block."""

    def __init__(self, feeds: int, entries: int, workdir: Path, seed: int = 1) -> None:
        self.entries, self.seed = entries, seed
        self.opml_path = workdir / "feeds.opml"
        self.urls_path = workdir / "feeds.txt"
        args = ["--feeds", str(feeds), "--entries", str(entries), "--seed", str(seed)]
        super().__init__(
            "feed server", "bench.feedserver", [*args, "--opml", str(self.opml_path)], feeds
        )

    def __enter__(self) -> FeedServer:
        self.start()
        self.urls_path.write_text("\n".join(self.urls) + "\n")
        return self

    def stats(self) -> dict[str, int]:
        data: dict[str, int] = self.get_json("/stats", timeout=5, attempts=5)
        return data


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after.get(key, 0) - before.get(key, 0) for key in COUNTERS}
