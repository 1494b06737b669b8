"""Starting and stopping the real bot process for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import sys
from functools import partial
from pathlib import Path

import aiohttp
import aiohttp.web

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_bot(
    args: list[str], tmp_path: Path, *, open_files: int | None = None, **env: str
) -> asyncio.subprocess.Process:
    """`python -m bot.cli ARGS` with a SQLite file in tmp_path unless env says otherwise;
    `open_files`: the soft limit of open files it starts with, as systemd's 1,024."""
    environment = {
        **os.environ,
        "SANGKIEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "SANGKIEN_FILES_DIR": str(tmp_path / "files"),
        "SANGKIEN_NOW": "2022-03-01T09:00",
        "SANGKIEN_LOG_LEVEL": "INFO",
        # `serve` delivers the outbox itself here: a sender process more per bot started is a
        # second or two of the suite each; tests/test_sender_process.py and the broadcast
        # benchmark's test run `serve` as it ships, with its sender process
        "SANGKIEN_SENDER_PROCESS": "false",
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=None if open_files is None else partial(_limit_open_files, open_files),
    )


def _limit_open_files(soft: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def stop_bot(process: asyncio.subprocess.Process) -> str:
    """Stop it as an operator would (SIGTERM) and return what it logged."""
    if process.returncode is None:
        process.terminate()
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    return err.decode()


async def wait_healthy(http: aiohttp.ClientSession, port: int, host: str = "127.0.0.1") -> None:
    for _ in range(600):  # a hang guard: on a loaded machine the bot starts slowly
        try:
            async with http.get(f"http://{host}:{port}/healthz") as response:
                if response.status == 200 and (await response.json())["status"] == "ok":
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the webhook server did not come up")


async def serve_app(
    app: aiohttp.web.Application, host: str, port: int
) -> tuple[aiohttp.web.AppRunner, int]:
    """Start a fake server on loopback; returns its runner and the port it got."""
    runner = aiohttp.web.AppRunner(app, access_log=None)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, host, port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
