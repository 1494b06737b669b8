"""What a person waits for while the country files: an open-loop load on a real `sangkien
serve` process.

People arrive at a fixed rate (Poisson), whatever the bot's speed; each walks a whole
submission over the Telegram webhook (HTTP POSTs with the secret header, as Telegram sends
them), reads each answer and thinks before the next one (exponential, `--think` seconds on
average). The bot's Bot API calls go to a fake Bot API server in this process. An update's
latency runs from its POST to the bot's first answer in that chat reaching the fake server.
A rate is updates per second: people arrive at rate / (updates in a submission)."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aiohttp
from sqlalchemy import func, select

from bench.seed import random_description
from bot.store.db import make_reader, upgrade
from bot.store.models import Submission
from tests.fake_telegram import BotAction, FakeTelegram
from tests.processes import free_port

TARGET_P99_MS = 100.0  # at 300 updates/s (issue 21)
SEARCH_P99_MS = 1000.0  # the highest rate at which p99 stays under this
SECRET = "bench-webhook-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BUSY = "bận"
REDELIVERY_SECONDS = 1.0  # Telegram publishes no schedule for retrying a failed webhook
DESCRIPTION_CHARS = 1_000  # half of what the campaign allows; each person's differs


def script(user: int) -> list[str]:
    """One person's whole submission, typed as people answer (labels, numbers, words)."""
    return [
        "/start",
        "Tôi đồng ý",
        f"09{user % 100_000_000:08d}",
        "Nộp sáng kiến mới",
        "Nguyễn Văn An",
        "1985",
        "Kỹ sư",
        "Công ty",
        "bac giang",
        "Chọn chính Bắc Giang",
        "Cán bộ công đoàn",
        f"Sáng kiến số {user}",
        "Giải pháp kỹ thuật",
        "01/10/2021",
        "01/12/2021",
        random_description(random.Random(user), DESCRIPTION_CHARS),
        "20 triệu",
        "bỏ qua",
        "Áp dụng tại đơn vị",
        "Giám đốc",
        "3/QĐ",
        "05/12/2021",
        "bỏ qua",
        "xong",
        "không",
        "không",
        "Gửi sáng kiến",
    ]


UPDATES_PER_PERSON = len(script(0))


@dataclass
class Point:
    """One offered rate: what the people sent in the measured window and what they waited."""

    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # each measured update's, loop time
    errors: int = 0  # a POST not answered 2xx, or no answer in the chat within the timeout
    busy: int = 0  # answers saying the system is busy
    people: int = 0
    filed: int = 0  # submissions filed during this point
    rss_mb: float = 0.0  # the serve process at the end of the point
    # the serve process and its children's, in the measured window (None: not counted)
    cpu_seconds: float | None = None
    # the benchmark's own process (the load and the fake Bot API), in the same window
    own_cpu_seconds: float | None = None

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return math.inf
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, math.ceil(len(ordered) * share) - 1)]

    def describe(self, engine: str) -> str:
        return (
            f"{engine:10} {self.rate:6.0f} updates/s offered: {len(self.latencies_ms):6} "
            f"measured, p50 {self.percentile(0.5):7.1f} ms, p99 {self.percentile(0.99):7.1f} ms, "
            f"max {max(self.latencies_ms, default=math.inf):7.1f} ms; errors {self.errors}, "
            f"“bận” {self.busy}; people {self.people}, submissions filed {self.filed}; "
            f"server RSS {self.rss_mb:.0f} MB{self._cpu()}"
        )

    def _cpu(self) -> str:
        sent = len(self.latencies_ms) + self.errors
        if self.cpu_seconds is None or not sent:
            return ""
        return f", CPU {self.cpu_seconds * 1000 / sent:.1f} ms an update"


@dataclass
class Timing:
    think: float  # mean seconds between an answer and the person's next message
    warmup: float  # seconds of arrivals before the measured window (the ramp)
    seconds: float  # the measured window
    answer_timeout: float = 30.0
    # the shortest pause: reading an answer and typing the next takes a person a second or
    # more on a phone; 0 lets the generator answer faster than anyone can
    least: float = 0.0

    def pause(self, rng: random.Random) -> float:
        """Seconds a person waits before the next message: `least`, then exponential, so
        that the mean stays `think`."""
        return self.least + rng.expovariate(1 / (self.think - self.least))


class Server:
    """`sangkien serve` in a process of its own, its Telegram pointed at the fake server."""

    def __init__(
        self,
        url: str,
        workdir: Path,
        fake: FakeTelegram,
        extra: dict[str, str] | None = None,
        workers: int = 1,
    ) -> None:
        self.url, self.workdir, self.fake = url, workdir, fake
        self.extra = extra or {}  # more settings for the process
        self.workers = workers
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    async def start(self) -> None:
        await asyncio.to_thread(upgrade, self.url)
        environment = {
            **os.environ,
            "SANGKIEN_DATABASE_URL": self.url,
            "SANGKIEN_FILES_DIR": str(self.workdir / "files"),
            "SANGKIEN_NOW": "2022-03-01T09:00",
            "SANGKIEN_LOG_LEVEL": "WARNING",
            "SANGKIEN_TELEGRAM_TOKEN": self.fake.token,
            "SANGKIEN_TELEGRAM_API_BASE": self.fake.base_url,
            "SANGKIEN_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "SANGKIEN_PORT": str(self.port),
            **self.extra,
        }
        self._log = (self.workdir / f"serve-{self.port}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--workers",
            str(self.workers),
            env=environment,
            stdout=self._log,
            stderr=self._log,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"{self.base}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"serve did not come up; see {self.workdir}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """The serving process's RSS; with --workers, of the parent and all its children
        (the workers, the sender and export processes)."""
        assert self.process is not None
        if self.workers == 1:
            return _rss_mb(self.process.pid)
        return sum(_rss_mb(pid) for pid in _family(self.process.pid))

    def cpu_seconds(self) -> float:
        """User and system CPU time so far of the serving process and its children."""
        assert self.process is not None
        return sum(_cpu_seconds(pid) for pid in _family(self.process.pid))

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 60)
        if self._log is not None:
            self._log.close()


def _family(pid: int) -> list[int]:
    """A process and its descendants (workers, the sender process, the export process). Each
    thread lists the children it started: the sender is started from a thread."""
    found = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            listed = children.read_text().split()
        except OSError:
            continue
        for child in listed:
            found += _family(int(child))
    return found


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # the name may hold spaces
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class Load:
    """The people and what they wait for; answers reach `heard` from the fake server."""

    def __init__(
        self,
        server: Server,
        http: aiohttp.ClientSession,
        target: str | None = None,
        redeliver_for: float = 0.0,
        count_cpu: bool = True,
    ) -> None:
        self.server, self.http = server, http
        self.count_cpu = count_cpu  # off where `server` does not answer every update
        self.target = target or server.base  # where updates are posted (a proxy, or serve)
        # As Telegram does: an update not answered 2xx is sent again, every REDELIVERY_SECONDS
        # for this long (0: once; the latency benchmark counts it as an error instead)
        self.redeliver_for = redeliver_for
        self.redelivered = 0
        self.unacknowledged = 0  # updates never answered 2xx: lost
        # each person's awaited answer, and when it reached the fake server
        self.waiting: dict[int, asyncio.Future[tuple[BotAction, float]]] = {}
        self.update_ids = itertools.count(1)
        self.users = itertools.count(10_000)

    def heard(self, action: BotAction) -> None:
        waiter = self.waiting.pop(action.chat_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result((action, asyncio.get_running_loop().time()))

    async def point(self, rate: float, timing: Timing, rng: random.Random) -> Point:
        """People arrive for `warmup + seconds`; updates sent within the last `seconds` are
        measured; then everyone still walking is waited for (or given up on)."""
        point = Point(rate)
        loop = asyncio.get_running_loop()
        began = loop.time()
        window = (began + timing.warmup, began + timing.warmup + timing.seconds)
        filed_before = await self.filed()
        cpu = asyncio.create_task(self.cpu_over(window)) if self.count_cpu else None
        walking: set[asyncio.Task[None]] = set()
        arrival = began
        while True:
            arrival += rng.expovariate(rate / UPDATES_PER_PERSON)
            if arrival >= window[1]:
                break
            await asyncio.sleep(max(0.0, arrival - loop.time()))
            person = asyncio.create_task(self.walk(next(self.users), timing, rng, window, point))
            walking.add(person)
            person.add_done_callback(walking.discard)
            point.people += 1
        if walking:
            # the last to arrive need their whole walk: 27 thinks, three times the mean
            walk = 3 * UPDATES_PER_PERSON * timing.think
            await asyncio.wait(walking, timeout=timing.answer_timeout + walk)
            for person in walking:
                person.cancel()
        point.filed = await self.filed() - filed_before
        point.rss_mb = self.server.rss_mb()
        if cpu is not None:
            point.cpu_seconds, point.own_cpu_seconds = await cpu
        return point

    async def cpu_over(self, window: tuple[float, float]) -> tuple[float, float]:
        """CPU seconds of the server (with its children) and of this process in `window`."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, window[0] - loop.time()))
        began, own = self.server.cpu_seconds(), time.process_time()
        await asyncio.sleep(max(0.0, window[1] - loop.time()))
        return self.server.cpu_seconds() - began, time.process_time() - own

    async def walk(
        self,
        user: int,
        timing: Timing,
        rng: random.Random,
        window: tuple[float, float],
        point: Point,
    ) -> None:
        loop = asyncio.get_running_loop()
        for text in script(user):
            answer: asyncio.Future[tuple[BotAction, float]] = loop.create_future()
            self.waiting[user] = answer
            sent = loop.time()
            measured = window[0] <= sent < window[1]
            try:
                status, (action, heard_at) = await asyncio.wait_for(
                    asyncio.gather(self.post(user, text), answer), timing.answer_timeout
                )
            except (TimeoutError, aiohttp.ClientError):
                self.waiting.pop(user, None)
                point.errors += measured
                return
            if measured:
                point.latencies_ms.append((heard_at - sent) * 1000)
                point.sent_at.append(sent)
                point.errors += not 200 <= status < 300
                point.busy += BUSY in action.text
            await asyncio.sleep(timing.pause(rng))

    async def post(self, user: int, text: str) -> int:
        update_id = next(self.update_ids)
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": user, "type": "private"},
                "from": {"id": user, "is_bot": False, "first_name": "An"},
                "text": text,
            },
        }
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.redeliver_for
        while True:
            try:
                async with self.http.post(
                    f"{self.target}/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET}
                ) as response:
                    await response.read()
                    if 200 <= response.status < 300 or loop.time() >= give_up:
                        self.unacknowledged += not 200 <= response.status < 300
                        return response.status
            except aiohttp.ClientError:
                if loop.time() >= give_up:
                    self.unacknowledged += 1
                    raise
            self.redelivered += 1
            await asyncio.sleep(REDELIVERY_SECONDS)

    async def filed(self) -> int:
        engine = make_reader(self.server.url)  # takes no write lock on SQLite
        try:
            async with engine.connect() as connection:
                return int(
                    await connection.scalar(select(func.count()).select_from(Submission)) or 0
                )
        finally:
            await engine.dispose()


@dataclass
class EngineResult:
    engine: str
    points: list[Point]
    history: list[tuple[int, float]]  # (finished conversations, server RSS MB)
    workers: int = 1

    def at(self, rate: float) -> Point | None:
        return next((p for p in self.points if p.rate == rate), None)

    def max_rate(self) -> float:
        passing = [p.rate for p in self.points if p.percentile(0.99) < SEARCH_P99_MS]
        return max(passing, default=0.0)


def next_rate(points: list[Point], ceiling: float) -> float | None:
    """The search for the highest rate whose p99 stays under SEARCH_P99_MS: up by half
    again while it holds, then halfway between the best pass and the lowest failure, to
    within a tenth."""
    passing = [p.rate for p in points if p.percentile(0.99) < SEARCH_P99_MS]
    failing = [p.rate for p in points if p.percentile(0.99) >= SEARCH_P99_MS]
    best = max(passing, default=0.0)
    if not failing:
        nxt = best * 1.5 if best else min(p.rate for p in points) / 2
        return nxt if nxt <= ceiling else None
    worst = min(failing)
    if worst <= best * 1.1 or worst - best < 5:
        return None
    return round((best + worst) / 2)


async def run_engine(
    engine: str,
    url: str,
    workdir: Path,
    rates: list[float],
    search: bool,
    timing: Timing,
    history: int,
    say: Callable[[str], None],
    workers: int = 1,
) -> EngineResult:
    fake = FakeTelegram(token="123456:BENCH-latency")
    await fake.start()
    server = Server(url, workdir, fake, workers=workers)
    await server.start()
    rng = random.Random(21)
    connector = aiohttp.TCPConnector(limit=100)  # Telegram's webhook max_connections is 1-100
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            load = Load(server, http)
            fake.listener = load.heard
            points: list[Point] = []
            for rate in rates:
                points.append(await load.point(rate, timing, rng))
                say(points[-1].describe(engine))
            while search and (searched := next_rate(points, 5_000)) is not None:
                points.append(await load.point(searched, timing, rng))
                say(points[-1].describe(engine))
            trail = await conversations(load, history, say) if history else []
    finally:
        await server.stop()
        await fake.stop()
    return EngineResult(engine, points, trail, workers)


HISTORY_AT_ONCE = 200


async def conversations(
    load: Load, total: int, say: Callable[[str], None]
) -> list[tuple[int, float]]:
    """`total` whole submissions, HISTORY_AT_ONCE people at a time without thinking, with the
    server's RSS after each ten thousand: memory must stay flat once the caches are full."""
    timing = Timing(think=1e-9, warmup=0, seconds=0, answer_timeout=120)
    unmeasured = Point(0)
    trail: list[tuple[int, float]] = []
    done = 0
    rng = random.Random(22)
    while done < total:
        batch = min(HISTORY_AT_ONCE, total - done)
        await asyncio.gather(
            *(load.walk(next(load.users), timing, rng, (0, 0), unmeasured) for _ in range(batch))
        )
        done += batch
        if done % 10_000 == 0 or done == total:
            trail.append((done, load.server.rss_mb()))
            say(f"  {done} conversations, server RSS {trail[-1][1]:.0f} MB")
    return trail


def summary(results: list[EngineResult], rate: float = 300.0) -> str:
    """The last line the issue asks for, exactly."""
    parts = []
    for result in results:
        point = result.at(rate)
        p99 = f"{point.percentile(0.99):.0f}" if point else "-"
        name = "postgresql" if result.engine.startswith("postgres") else result.engine
        if result.workers > 1:
            name += f" --workers {result.workers}"
        parts.append(f"{name} p99 {p99} ms at {rate:.0f}/s, max {result.max_rate():.0f}/s")
    return "latency: " + "; ".join(parts)


def flatness(result: EngineResult) -> str | None:
    """RSS from 10,000 to the last finished conversation, as a ratio."""
    if len(result.history) < 2:
        return None
    (first, rss_first), (last, rss_last) = result.history[0], result.history[-1]
    return (
        f"{result.engine}: server RSS {rss_first:.0f} MB after {first:,} conversations, "
        f"{rss_last:.0f} MB after {last:,} ({(rss_last / rss_first - 1) * 100:+.1f}%)"
    )
