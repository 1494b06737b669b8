"""`sangkien serve` as processes: the port is bound before anything is said to a platform, one
bot process per SQLite file, several workers on PostgreSQL, and every failure, in the parent or
in a worker, told as one line with an exit code (bot/explain.py)."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot import logs
from bot.config import Settings
from bot.errors import ConfigError
from bot.explain import explain
from bot.metrics import MULTIPROCESS
from bot.store.db import is_sqlite, sqlite_file

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.outbox import Ledger
    from bot.reach.sender import SenderProcess

log = logging.getLogger(__name__)


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ValueError("--workers phải từ 1 trở lên")
    if workers > 1 and is_sqlite(settings.database_url):
        # Each process would cache and batch on its own against one file lock: slow, and
        # "database is locked" under load. Several workers share PostgreSQL.
        raise ConfigError(
            "nhiều tiến trình (--workers) cần PostgreSQL; đặt SANGKIEN_DATABASE_URL="
            "postgresql+asyncpg://… hoặc chạy một tiến trình"
        )


@contextmanager
def one_bot_per_sqlite_file(database_url: str) -> Iterator[None]:
    """A second `serve` or `run` on the same SQLite file would keep a conversation cache of
    its own beside the first one's, and both would answer the same people: refuse it. The
    lock is the kernel's (flock), held until the block ends, and goes with the process even
    when it is killed -9."""
    database = sqlite_file(database_url)
    if database is None:
        yield
        return
    with Path(f"{database}.bot.lock").open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"một tiến trình bot khác (sangkien serve hoặc run) đang dùng “{database}”: "
                "dừng nó trước, hoặc dùng PostgreSQL để chạy nhiều tiến trình"
            ) from None
        yield


def bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """The listening socket, bound before any webhook is set: a second `serve` on a busy port
    stops here, and the platforms keep calling the first one."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror:
        raise ConfigError(f"không có địa chỉ “{host}” trên máy này: kiểm tra --host") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"cổng {port} trên {host} đang có chương trình khác dùng (có thể là một sangkien "
                "serve khác): dừng nó, hoặc chọn --port khác. Chưa đặt webhook nào."
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            raise ConfigError(
                f"không nghe được trên {host}:{port} ({exc.strerror}): kiểm tra --host và --port"
            ) from None
        raise
    return sock


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    """The exit code: 0 when stopped by a signal, else the first failing worker's."""
    from bot.app import make_clock
    from bot.reach.sender import SenderProcess, sending_ledgers

    # one clock and one sending budget per channel for every process of this serve
    shared = Shared(make_clock(settings), sending_ledgers())
    sender = (
        SenderProcess(settings, shared.clock, shared.ledgers) if settings.sender_process else None
    )
    if workers <= 1:
        with one_bot_per_sqlite_file(settings.database_url):
            run_server(settings, host, port, reuse_port=False, shared=shared, sender=sender)
        return 0
    bind(host, port, reuse_port=False).close()  # is the port free? Say so before spawning.
    with counted_together():
        return _run_workers(settings, host, port, workers, shared, sender)


@contextmanager
def counted_together() -> Iterator[None]:
    """A fresh folder for the workers' metrics (bot/metrics.py), named in the environment they
    are spawned with, removed when they have ended."""
    folder = tempfile.mkdtemp(prefix="sangkien-metrics-")
    os.environ[MULTIPROCESS] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS, None)
        shutil.rmtree(folder, ignore_errors=True)


def _run_workers(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    shared: Shared,
    sender: SenderProcess | None,
) -> int:
    import multiprocessing
    import signal

    spawn = multiprocessing.get_context("spawn")
    # with a sender process, the workers only answer; without, each delivers too
    deliver_here = sender is None
    processes = [
        spawn.Process(target=worker, args=(settings, host, port, shared, deliver_here))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    if sender is not None:
        sender.start()

    def stop(signum: int, _frame: object) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
    if sender is not None:
        sender.stop()
    failed = [p.exitcode for p in processes if p.exitcode not in (0, -signal.SIGTERM, None)]
    return int(failed[0]) if failed else 0


@dataclass(frozen=True, slots=True)
class Shared:
    """What the processes of one `serve` hold in common: the clock (a trial's running clock
    starts once, not once per process) and the channels' sending budgets."""

    clock: Clock
    ledgers: dict[str, Ledger]


def worker(settings: Settings, host: str, port: int, shared: Shared, deliver_here: bool) -> None:
    """One of `--workers N`: a failure is one line and an exit code, as in the parent."""
    try:
        run_server(settings, host, port, reuse_port=True, shared=shared, deliver_here=deliver_here)
    except KeyboardInterrupt:
        sys.exit(0)
    except Exception as exc:
        explained = explain(exc)
        if explained is None:
            raise
        code, line = explained
        logs.announce(line, logging.ERROR)
        sys.exit(code)


def run_server(
    settings: Settings,
    host: str,
    port: int,
    *,
    reuse_port: bool,
    shared: Shared,
    sender: SenderProcess | None = None,
    deliver_here: bool = True,
) -> None:
    """One server process; with `reuse_port` several share the port and the kernel spreads
    the connections over them. `sender`: the sender process this one starts and stops."""
    from aiohttp import web

    from bot.app import build_app, settle_heap
    from bot.server import PathOnlyAccessLog, build_web_app

    logs.configure(settings.log_level, settings.log_format)
    sock = bind(host, port, reuse_port=reuse_port)
    app = build_app(settings, shared.clock, shared.ledgers)
    web_app = build_web_app(app, deliver_here=deliver_here, sender=sender)
    settle_heap()

    def listening(_message: str) -> None:  # aiohttp calls it once the server is up
        logs.announce(f"sangkien serve: nghe trên {host}:{port}; /healthz để kiểm tra")

    raise_open_file_limit()
    web.run_app(
        web_app,
        sock=sock,
        print=listening,
        handle_signals=True,
        # aiohttp starts this clock when a connection opens: one that never finishes its
        # request headers is closed then, and cannot hold a file descriptor for good.
        keepalive_timeout=settings.header_timeout_seconds,
        access_log_class=PathOnlyAccessLog,
    )


def raise_open_file_limit() -> None:
    """Every connection is an open file; systemd's default soft limit is 1,024, which a
    thousand slow clients reach. The hard limit is what the operator allows."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # an unlimited hard limit the kernel will not take
            log.warning("serve: giới hạn số tệp mở vẫn là %s", soft)
