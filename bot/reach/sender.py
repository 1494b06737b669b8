"""The sender process: under `sangkien serve` the outbox is delivered, and the background jobs
run (reminders, monthly reports, escalation, sweeps), in a process of its own, while the serving
processes answer.

Why: delivering one queued message costs about 1.3 ms of CPU (the HTTP call through aiogram,
the claim, the record). At a broadcast's full pace that is a third of a core, and in the
serving process it was taken from the event loop that answers the chats: their p99 went from
118 ms to 274 ms during a broadcast (bench/README.md, 2026-12-07). In a process of its own the
operating system shares the cores, and the chats' event loop only answers.

The serving processes and the sender spend one budget per channel (`Ledger`, in shared memory,
bot/outbox.py): an answer sent by a serving process pushes the outbox's next turn back.

One sender per `serve`, also with `--workers N` (N answer, one sends); with several machines
on PostgreSQL one sender sends at a time and the others stand by (bot/one_poller.py). It is
started once the platforms are set up, started again a second after it dies (longer, up to a
minute, while it keeps dying within a minute of its start: a crash loop does not spin), and ends
with its parent, even by kill -9. Messages it had marked as being sent when it died are not
sent again (at most once; bot/outbox.py)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.process import BaseProcess

from bot import logs
from bot.app import App, build_app, settle_heap
from bot.clock import Clock
from bot.config import Settings
from bot.errors import UnreachableError
from bot.outbox import Ledger
from bot.store.db import is_sqlite

log = logging.getLogger(__name__)

CHANNELS = ("telegram", "zalo")
FIRST_RESTART_SECONDS = 1.0
LONGEST_RESTART_SECONDS = 60.0
# The outbox can wait a moment where a person waiting for an answer cannot: when the cores are
# busy, the kernel gives the answering processes about nine parts in ten of them. Not on
# SQLite: there the sender's claims hold the database's one write lock, and a sender put aside
# while holding it would keep every answer waiting (bench/README.md, "people at a person's pace").
SENDER_NICENESS = 10
# a round's sends are two seconds' worth; its record then takes a moment
STOP_SECONDS = 15.0


def sending_ledgers() -> dict[str, Ledger]:
    """One budget per channel, for every process of one `serve` (made before they start)."""
    return {name: Ledger() for name in CHANNELS}


class SenderProcess:
    """Runs `send_in_process` in a spawned process and keeps it running until `stop`."""

    def __init__(self, settings: Settings, clock: Clock, ledgers: dict[str, Ledger]) -> None:
        self._args = (settings, clock, ledgers, os.getpid())
        self._process: BaseProcess | None = None
        self._started_at = 0.0
        self._restart_seconds = FIRST_RESTART_SECONDS
        self._stopping = threading.Event()
        self._turn = threading.Lock()  # starting and stopping do not cross
        self._watcher: threading.Thread | None = None
        self.starts = 0

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="sender-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Ask the sender to finish its round and end (SIGTERM); kill it after STOP_SECONDS."""
        self._stopping.set()
        with self._turn:
            process = self._process
        if process is None:
            return
        process.terminate()
        # The watcher thread joins the same process: whichever reaps it first, the other's
        # join may return early (ECHILD) before the exit code is set, so wait for the code
        deadline = time.monotonic() + STOP_SECONDS
        while process.exitcode is None and time.monotonic() < deadline:
            process.join(0.1)
        if process.exitcode is None:
            log.error("sender process did not stop within %.0f s: killed", STOP_SECONDS)
            process.kill()
            process.join()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _spawn(self) -> None:
        with self._turn:
            if self._stopping.is_set():
                return
            # spawn, not fork: the parent has threads and, when restarting, an event loop
            context = multiprocessing.get_context("spawn")
            process = context.Process(target=send_in_process, args=self._args, name="sender")
            process.start()
            self._process = process
            self._started_at = time.monotonic()
            self.starts += 1

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            process.join()
            if self._stopping.is_set():
                return
            delay = self._next_restart_delay()
            log.error(
                "sender process ended (exit code %s); starting it again in %.0f s",
                process.exitcode,
                delay,
            )
            if self._stopping.wait(delay):
                return
            self._spawn()

    def _next_restart_delay(self) -> float:
        """A second after a sender that had run a while; twice the last wait after one that
        died within LONGEST_RESTART_SECONDS of its start."""
        if time.monotonic() - self._started_at >= LONGEST_RESTART_SECONDS:
            self._restart_seconds = FIRST_RESTART_SECONDS
        delay = self._restart_seconds
        self._restart_seconds = min(delay * 2, LONGEST_RESTART_SECONDS)
        return delay


def send_in_process(
    settings: Settings, clock: Clock, ledgers: dict[str, Ledger], parent: int
) -> None:
    """The sender process's life: deliver and run the jobs until SIGTERM."""
    from bot.stats.export import end_with_parent

    end_with_parent(parent)
    # Ctrl-C in a terminal reaches every process of the group: the parent decides, and
    # stops this one with SIGTERM once it has stopped answering
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not is_sqlite(settings.database_url):
        os.nice(SENDER_NICENESS)
    logs.configure(settings.log_level, settings.log_format)
    try:
        asyncio.run(_send(build_app(settings, clock, ledgers)))
    except UnreachableError as lost:  # started again by SenderProcess, to wait for its turn
        log.error("%s", lost)
        sys.exit(3)


async def _send(app: App) -> None:
    from bot.jobs import escalation_loop
    from bot.one_poller import SENDER_LOST, one_sender, poll_while_held
    from bot.server import sending_channels
    from bot.unit_map import follow_map

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        # one sender for all the machines of one database: the budget is the bot's
        async with one_sender(app.settings.database_url, stop) as lost:
            if stop.is_set():
                return
            senders, closers = sending_channels(app)
            # Without it the collector rescans the whole heap (aiogram, the catalogs) about
            # every 15 s during a broadcast, for ~250 ms here; on SQLite a rescan inside a
            # claim holds the write lock, and the chats wait with it (bench/README.md)
            settle_heap()

            async def deliver() -> None:
                await follow_map(app)
                await asyncio.gather(app.outbox(senders).run(stop), escalation_loop(app, stop))

            try:
                await poll_while_held(lost, asyncio.ensure_future(deliver()), SENDER_LOST)
            finally:
                for close in closers:
                    await close()
    finally:
        await app.close()
