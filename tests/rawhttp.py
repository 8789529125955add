"""A loopback server that answers every request with the same raw bytes.

For answers no well-behaved server library will write (control characters in
the reason phrase): aiohttp's own server refuses to send them.
"""

from __future__ import annotations

import socket
import threading


class RawServer:
    def __init__(self, answer: bytes, host: str = "127.0.0.2") -> None:
        self.answer = answer
        self.hits = 0
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.2)
        self.host, self.port = host, self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> RawServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                self.hits += 1
                conn.sendall(self.answer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
