"""Content-Encoding undone chunk by chunk, never past the size cap.

httpx inflates each network chunk whole, so a small gzip bomb becomes one huge
chunk; here every decompression call is bounded by ``max_length`` and the
decoded total is checked as it grows. Stacked encodings are refused.
"""

from __future__ import annotations

import zlib

from monitor.core.errors import FeedError, TooLargeError

# The most one decompression call may produce. zlib builds a call's output in
# blocks and joins them, so a call allowed the whole remaining cap held twice the
# cap at once (a gzip bomb peaked at +20 MB with a 10 MB cap); small steps keep
# the peak near the cap.
STEP = 2**20
SUPPORTED = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ACCEPT_ENCODING = "gzip, deflate"


class BoundedDecoder:
    """Feed it raw chunks; it returns decoded bytes and raises once over ``limit``."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise FeedError(f"refused stacked content encodings: {', '.join(codings)}")
        if codings and codings[0] not in SUPPORTED:
            raise FeedError(f"unsupported content encoding: {codings[0]}")
        self.limit = limit
        self.size = 0
        self._coding = codings[0] if codings else None
        self._inflater = self._new_inflater()
        self._parts: list[bytes] = []

    def _new_inflater(self) -> zlib._Decompress | None:
        if self._coding is None:
            return None
        return zlib.decompressobj(SUPPORTED[self._coding])

    def feed(self, chunk: bytes) -> None:
        if self._inflater is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._inflater.decompress(data, min(self.limit - self.size + 1, STEP))
            except zlib.error as exc:
                data = self._retry_raw_deflate(chunk, exc)
                continue
            self._keep(out)
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                return

    def _retry_raw_deflate(self, chunk: bytes, exc: zlib.error) -> bytes:
        # Some servers send raw deflate (no zlib header) as "deflate".
        if self._coding == "deflate" and self.size == 0 and self._inflater is not None:
            self._coding = "raw-deflate"
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return chunk
        raise FeedError(f"corrupt {self._coding} body: {exc}") from exc

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise TooLargeError(f"too large: body exceeds {self.limit} bytes once decoded")
        if data:
            self._parts.append(data)

    def result(self) -> bytes:
        return b"".join(self._parts)
