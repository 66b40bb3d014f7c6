"""Run an aiohttp application on 127.0.0.1 on its own thread and event loop, as a context manager (test servers)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class BackgroundServer:
    """Mixin: ``with server:`` serves :meth:`_app` on ``127.0.0.1:port`` (0: a free port, then the one bound).

    Subclasses provide ``_app()``, a ``port`` attribute and ``what`` (named when the server does not start).
    """

    port: int
    what = "the test server"

    def _app(self) -> web.Application:
        raise NotImplementedError

    def __enter__(self) -> Any:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def start() -> None:
            self._runner = web.AppRunner(self._app(), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(start())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{self.what} did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
