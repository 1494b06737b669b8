"""Two `sangkien serve` processes on one PostgreSQL database behind a round-robin proxy, and one
of them killed with -9 in the middle of a steady load: what is lost, and what people wait before
and after.

The proxy does what nginx's upstream block in deploy/ does with two servers: each webhook POST
goes to the next server, and to the other one when the connection fails (`proxy_next_upstream
error`). The load is bench/latency.py's people, posting as Telegram does: an update not
answered 2xx is sent again every second (Telegram publishes no schedule), so "lost" is an
update never answered 2xx within a minute of retries. The one killed is the whole `serve`
(its sender process ends with it), as a machine that fails."""

from __future__ import annotations

import asyncio
import random
import signal
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.latency import Load, Point, Server, Timing
from tests.balancer import RoundRobin
from tests.fake_telegram import FakeTelegram

REDELIVER_FOR = 60.0


@dataclass
class Figures:
    rate: float
    point: Point
    killed_at: float
    lost: int
    redelivered: int
    failed_over: int

    def _p99(self, after: bool) -> float:
        chosen = sorted(
            ms
            for ms, sent in zip(self.point.latencies_ms, self.point.sent_at, strict=True)
            if (sent >= self.killed_at) == after
        )
        return chosen[min(len(chosen) - 1, int(0.99 * len(chosen)))] if chosen else float("nan")

    def line(self) -> str:
        return (
            f"failover: {self.lost} updates lost ({self.redelivered} sent again, "
            f"{self.failed_over} failed over by the proxy, {self.point.errors} answers missing), "
            f"p99 {self._p99(False):.0f} ms before and {self._p99(True):.0f} ms after the kill "
            f"at {self.rate:.0f}/s"
        )


async def run(
    url: str, workdir: Path, rate: float, warmup: float, before: float, after: float
) -> Figures:
    fake = FakeTelegram(token="123456:BENCH-failover")
    await fake.start()
    servers = []
    for name in ("a", "b"):
        (workdir / name).mkdir(exist_ok=True)
        servers.append(Server(url, workdir / name, fake))
    for server in servers:
        await server.start()
    proxy = RoundRobin([server.base for server in servers])
    await proxy.start()
    killed_at = 0.0
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:
            # the survivor: its RSS at the end, the filings counted in the shared database
            load = Load(
                servers[1], http, target=proxy.base, redeliver_for=REDELIVER_FOR, count_cpu=False
            )
            fake.listener = load.heard
            loop = asyncio.get_running_loop()

            async def kill() -> None:
                nonlocal killed_at
                await asyncio.sleep(warmup + before)
                process = servers[0].process
                assert process is not None
                killed_at = loop.time()
                process.send_signal(signal.SIGKILL)

            killing = asyncio.create_task(kill())
            point = await load.point(rate, Timing(1.5, warmup, before + after), random.Random(33))
            await killing
            return Figures(
                rate, point, killed_at, load.unacknowledged, load.redelivered, proxy.failed_over
            )
    finally:
        await proxy.stop()
        for server in servers:
            await server.stop()
        await fake.stop()
