"""The daemon's HTTP endpoint (aiohttp): /healthz, /readyz, /metrics and the status page at /.

Off unless ``http.enabled``; it listens on localhost unless told otherwise.
Everything it serves is read-only. Database reads run off the event loop.
Who may read it (``Host:`` names, the optional token) and the headers of every
response are ``monitor.web.access``'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor.core.clock import Clock
from monitor.core.errors import StorageError
from monitor.meaning.source import MeaningState
from monitor.web.access import Access, middleware, security_headers, style_nonce
from monitor.web.metrics import Metrics
from monitor.web.reads import WebReads
from monitor.web.status import WatchlistFile, page

log = structlog.get_logger("monitor.web")


class OpsServer:
    def __init__(
        self,
        repo: WebReads,
        metrics: Metrics,
        clock: Clock,
        worker: str,
        scheduler_running: Callable[[], bool],
        watchlists: Callable[[], Sequence[WatchlistFile]] = tuple,
        access: Access | None = None,
        meaning: Callable[[], MeaningState | None] = lambda: None,
    ) -> None:
        self.repo, self.metrics, self.clock, self.worker = repo, metrics, clock, worker
        self.meaning = meaning
        self.scheduler_running, self.watchlists = scheduler_running, watchlists
        # None: the names of a server bound to localhost, and no token.
        self.access = access
        self._runner: web.AppRunner | None = None

    def app(self, bind: str = "127.0.0.1") -> web.Application:
        app = web.Application(middlewares=[middleware(self.access or Access.of(bind))])
        app.on_response_prepare.append(security_headers)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.prometheus)
        app.router.add_get("/", self.status)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app(host), handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        log.info("http.started", url=f"http://{host}:{port}/")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", "worker": self.worker})

    async def readyz(self, request: web.Request) -> web.Response:
        checks = {"scheduler": self.scheduler_running(), "database": True}
        try:
            await asyncio.to_thread(self.repo.ping)
        except StorageError as exc:
            checks["database"] = False
            log.warning("http.not_ready", error=exc.message)
        ready = all(checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", **checks}, status=200 if ready else 503
        )

    async def prometheus(self, request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def status(self, request: web.Request) -> web.Response:
        watchlists, meaning = self.watchlists(), self.meaning()
        html = await asyncio.to_thread(
            page,
            self.repo,
            self.clock.now(),
            self.worker,
            watchlists,
            style_nonce(request),
            meaning,
        )
        return web.Response(text=html, content_type="text/html")
