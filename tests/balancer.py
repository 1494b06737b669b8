"""A round-robin HTTP load balancer on loopback, as nginx's upstream block with two servers:
each request goes to the next server, and to the other one when the connection fails
(`proxy_next_upstream error`). For the failover benchmark and the two-machine rehearsal."""

from __future__ import annotations

import itertools

import aiohttp
from aiohttp import web

from tests.processes import free_port

PASSED_HEADERS = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token", "X-Bot-Api-Secret-Token")


class RoundRobin:
    def __init__(self, backends: list[str], host: str = "127.0.0.1") -> None:
        self.backends = backends
        self.turns = itertools.count()
        self.failed_over = 0  # requests a dead server refused, sent to another
        self.host, self.port = host, free_port()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k in PASSED_HEADERS if (v := request.headers.get(k)) is not None}
        first = next(self.turns)
        for step in range(len(self.backends)):
            backend = self.backends[(first + step) % len(self.backends)]
            try:
                async with self._http.request(
                    request.method, f"{backend}{request.rel_url}", data=body, headers=headers
                ) as answer:
                    passed = {
                        k: v
                        for k in ("Content-Type", "Content-Disposition")
                        if (v := answer.headers.get(k)) is not None
                    }
                    return web.Response(
                        status=answer.status, body=await answer.read(), headers=passed
                    )
            except aiohttp.ClientError:
                self.failed_over += 1
        return web.Response(status=502)
