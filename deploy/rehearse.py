"""Rehearse docs/operations.md on this machine: a fresh clone, installed from the lock file,
configured from deploy/sangkien.env.example, migrated, checked and served, with local fake
Telegram and Zalo Bot API servers standing in for the real ones; then a person writes on each
app and the bot must answer over its webhooks.

    python3 deploy/rehearse.py [--keep] [--postgres ADMIN_DSN] [--machines 2]

Needs the package registry (the install) and nothing else; exits 0 and prints “rehearsal: …
answered” when the bot answered on both apps.

With `--machines 2` (and --postgres): docs/operations.md's "Several machines" on loopback
addresses: two `serve` processes on 127.0.0.2 and 127.0.0.3, each with a files folder of its
own, one S3 bucket (moto's S3 server, which the clone then installs from the dev lock) and a
round-robin load balancer in front; a worker files with a photo through the balancer, the
photo's signed link is fetched from each machine with the same bytes, one machine is killed
and the other answers."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, env=env, check=True)


def install(workdir: Path, lock: str = "requirements.lock") -> Path:
    """Section 2 of docs/operations.md, as the current user: clone, venv, the locked install."""
    clone = workdir / "sangkien-bot"
    run(["git", "clone", "--quiet", str(HERE), str(clone)], workdir)
    run([sys.executable, "-m", "venv", ".venv"], clone)
    pip = str(clone / ".venv" / "bin" / "pip")
    run([pip, "install", "--quiet", "--require-hashes", "-r", lock], clone)
    # editable: the data files (campaigns.yaml, units.yaml) stay beside the code
    run([pip, "install", "--quiet", "--no-deps", "-e", "."], clone)
    return clone


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings(example: Path, changes: dict[str, str]) -> dict[str, str]:
    """deploy/sangkien.env.example with the values this machine needs in place of the real
    ones: fake platforms, local webhook URLs, a SQLite file."""
    values = {}
    for line in example.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            # the operator puts `openssl rand -hex 32` where the example says change-me
            values[key] = secrets.token_hex(32) if value.startswith("change-me") else value
    values.update(changes)
    return values


async def postgres_database(admin_dsn: str) -> str:
    """Section 2's PostgreSQL steps: a role with a password (Debian's cluster asks for one over
    TCP) and a database it owns; returns the URL the settings file gets."""
    import asyncpg

    name, password = f"sangkien_rehearsal_{secrets.token_hex(4)}", secrets.token_hex(16)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        await admin.execute(f"CREATE DATABASE {name} OWNER {name}")
    finally:
        await admin.close()
    host = admin_dsn.split("@", 1)[1].split("/", 1)[0]
    return f"postgresql+asyncpg://{name}:{password}@{host}/{name}"


async def drop_postgres_database(admin_dsn: str, url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"DROP ROLE IF EXISTS {name}")
    finally:
        await admin.close()


async def rehearse(clone: Path, workdir: Path, postgres: str | None) -> None:
    sys.path.insert(0, str(clone))
    from tests.fake_telegram import FakePerson, FakeTelegram
    from tests.fake_zalo import FakeZalo, FakeZaloPerson

    database = (
        await postgres_database(postgres)
        if postgres
        else f"sqlite+aiosqlite:///{workdir / 'sangkien.db'}"
    )
    telegram, zalo = FakeTelegram(), FakeZalo()
    zalo.flat_webhook_bodies = True  # as Zalo posts in practice
    await telegram.start()
    await zalo.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = settings(
        clone / "deploy" / "sangkien.env.example",
        {
            "SANGKIEN_DATABASE_URL": database,
            "SANGKIEN_FILES_DIR": str(workdir / "files"),
            "SANGKIEN_NOW": "2022-03-01T09:00",
            "SANGKIEN_PORT": str(port),
            "SANGKIEN_TELEGRAM_TOKEN": telegram.token,
            "SANGKIEN_TELEGRAM_API_BASE": telegram.base_url,
            "SANGKIEN_TELEGRAM_WEBHOOK_URL": f"{base}/telegram/webhook",
            "SANGKIEN_ZALO_TOKEN": zalo.token,
            "SANGKIEN_ZALO_API_BASE": zalo.base_url,
            "SANGKIEN_ZALO_WEBHOOK_URL": f"{base}/zalo/webhook",
            "SANGKIEN_PUBLIC_URL": base,
        },
    )
    environment = {**os.environ, **env}
    sangkien = str(clone / ".venv" / "bin" / "sangkien")
    run([sangkien, "db", "upgrade"], clone, environment)
    run([sangkien, "check"], clone, environment)
    print("$", sangkien, "serve", flush=True)
    server = await asyncio.create_subprocess_exec(sangkien, "serve", cwd=clone, env=environment)
    try:
        for _ in range(300):
            if telegram.webhook_url and zalo.webhook_url:
                break
            await asyncio.sleep(0.1)
        else:
            raise SystemExit("rehearsal: the webhooks were never set")
        on_telegram = await FakePerson(telegram, 7001).say("xin chào")
        on_zalo = await FakeZaloPerson(zalo, "rehearsal-zalo-user").say("xin chào")
        assert "đồng ý" in on_telegram.text.lower(), on_telegram.text
        assert "đồng ý" in on_zalo.lower() or "CÓ" in on_zalo, on_zalo
        print("rehearsal: Telegram and Zalo answered over their webhooks", flush=True)
    finally:
        server.terminate()
        await server.wait()
        await telegram.stop()
        await zalo.stop()
        if postgres:
            await drop_postgres_database(postgres, database)


async def rehearse_machines(clone: Path, workdir: Path, postgres: str) -> None:
    """Two machines on loopback addresses behind a load balancer, one bucket."""
    import hashlib
    import signal
    from datetime import UTC, datetime

    import aiohttp

    sys.path.insert(0, str(clone))
    from bot.links import FileLinks
    from tests.balancer import RoundRobin
    from tests.fake_s3 import start_s3
    from tests.fake_telegram import FakePerson, FakeTelegram
    from tests.fake_zalo import FakeZalo, FakeZaloPerson
    from tests.processes import wait_healthy
    from tests.test_zalo_e2e import JPEG, full_submission

    database = await postgres_database(postgres)
    s3_server, s3 = start_s3()
    telegram, zalo = FakeTelegram(), FakeZalo()
    zalo.flat_webhook_bodies = True
    await telegram.start()
    await zalo.start()
    port = free_port()
    machines = [f"http://127.0.0.{n}:{port}" for n in (2, 3)]
    balancer = RoundRobin(machines)
    await balancer.start()
    common = settings(
        clone / "deploy" / "sangkien.env.example",
        {
            "SANGKIEN_DATABASE_URL": database,
            "SANGKIEN_FILES_URL": s3.url(),
            "SANGKIEN_NOW": "2022-03-01T09:00",
            "SANGKIEN_PORT": str(port),
            "SANGKIEN_TELEGRAM_TOKEN": telegram.token,
            "SANGKIEN_TELEGRAM_API_BASE": telegram.base_url,
            "SANGKIEN_TELEGRAM_WEBHOOK_URL": f"{balancer.base}/telegram/webhook",
            "SANGKIEN_ZALO_TOKEN": zalo.token,
            "SANGKIEN_ZALO_API_BASE": zalo.base_url,
            "SANGKIEN_ZALO_WEBHOOK_URL": f"{balancer.base}/zalo/webhook",
            "SANGKIEN_ZALO_MEDIA_HOSTS": "127.0.0.1",
            "SANGKIEN_PUBLIC_URL": balancer.base,
            **s3.environment,
        },
    )
    sangkien = str(clone / ".venv" / "bin" / "sangkien")
    run([sangkien, "db", "upgrade"], clone, {**os.environ, **common})
    servers = []
    try:
        for number in (2, 3):
            own = {
                "SANGKIEN_HOST": f"127.0.0.{number}",
                "SANGKIEN_FILES_DIR": str(workdir / f"files-{number}"),
            }
            print(f"$ SANGKIEN_HOST=127.0.0.{number} {sangkien} serve", flush=True)
            servers.append(
                await asyncio.create_subprocess_exec(
                    sangkien, "serve", cwd=clone, env={**os.environ, **common, **own}
                )
            )
        async with aiohttp.ClientSession() as http:
            for number in (2, 3):
                await wait_healthy(http, port, f"127.0.0.{number}")
            await full_submission(FakeZaloPerson(zalo, "rehearsal-two-machines"), zalo)
            stored = f"{hashlib.sha256(JPEG).hexdigest()}.jpg"
            secret = common["SANGKIEN_LINK_SECRET"]
            link = FileLinks(balancer.base, secret).url_for(stored, "anh.jpg", datetime.now(UTC))
            for machine in machines:
                async with http.get(link.replace(balancer.base, machine)) as got:
                    assert got.status == 200 and await got.read() == JPEG, machine
            print("rehearsal: a photo sent through the balancer came back from each machine")
            person = FakePerson(telegram, 7002)
            assert "đồng ý" in (await person.say("xin chào")).text.lower()
            servers[0].send_signal(signal.SIGKILL)
            await servers[0].wait()
            for _ in range(3):  # whichever machine the balancer picks, the other answers
                answered = await person.say("/menu")
                assert answered.text, answered
        print("rehearsal: one machine killed, the other answered every message", flush=True)
    finally:
        for server in servers:
            if server.returncode is None:
                server.terminate()
                await server.wait()
        await balancer.stop()
        await telegram.stop()
        await zalo.stop()
        s3_server.stop()
        await drop_postgres_database(postgres, database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone and its database")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_DSN",
        help="on PostgreSQL: a role with a password and a database made through this "
        "superuser DSN (e.g. postgresql://postgres@127.0.0.1/postgres), dropped afterwards",
    )
    parser.add_argument(
        "--machines",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: two serve processes on loopback addresses, one bucket (needs --postgres)",
    )
    parser.add_argument("--stage", default="install", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.machines == 2 and not args.postgres:
        parser.error("--machines 2 needs --postgres ADMIN_DSN: two machines share PostgreSQL")
    if args.stage == "install":
        workdir = Path(tempfile.mkdtemp(prefix="sangkien-rehearsal-"))
        try:
            # two machines: the S3 server of the tests (moto) comes with the dev lock
            clone = install(
                workdir, "requirements-dev.lock" if args.machines == 2 else "requirements.lock"
            )
            # the fakes need the clone's packages (aiohttp): go on with its own Python
            run(
                [str(clone / ".venv" / "bin" / "python"), str(clone / "deploy" / "rehearse.py"),
                 "--stage", "serve", "--workdir", str(workdir), "--machines", str(args.machines),
                 *(["--postgres", args.postgres] if args.postgres else [])],
                clone,
            )  # fmt: skip
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                print(f"kept: {workdir}")
        return
    workdir = Path(args.workdir)
    if args.machines == 2:
        asyncio.run(rehearse_machines(workdir / "sangkien-bot", workdir, args.postgres))
    else:
        asyncio.run(rehearse(workdir / "sangkien-bot", workdir, args.postgres))


if __name__ == "__main__":
    main()
