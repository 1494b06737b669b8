"""Rehearse docs/operations.md on this machine: a fresh clone, installed from the lock file,
configured from deploy/sangkien.env.example, migrated, checked and served, with local fake
Telegram and Zalo Bot API servers standing in for the real ones; then a person writes on each
app and the bot must answer over its webhooks.

    python3 deploy/rehearse.py [--keep] [--postgres ADMIN_DSN]

Needs the package registry (the install) and nothing else; exits 0 and prints “rehearsal: …
answered” when the bot answered on both apps."""

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


def install(workdir: Path) -> Path:
    """Section 2 of docs/operations.md, as the current user: clone, venv, the locked install."""
    clone = workdir / "sangkien-bot"
    run(["git", "clone", "--quiet", str(HERE), str(clone)], workdir)
    run([sys.executable, "-m", "venv", ".venv"], clone)
    pip = str(clone / ".venv" / "bin" / "pip")
    run([pip, "install", "--quiet", "--require-hashes", "-r", "requirements.lock"], clone)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone and its database")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_DSN",
        help="on PostgreSQL: a role with a password and a database made through this "
        "superuser DSN (e.g. postgresql://postgres@127.0.0.1/postgres), dropped afterwards",
    )
    parser.add_argument("--stage", default="install", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "install":
        workdir = Path(tempfile.mkdtemp(prefix="sangkien-rehearsal-"))
        try:
            clone = install(workdir)
            # the fakes need the clone's packages (aiohttp): go on with its own Python
            run(
                [str(clone / ".venv" / "bin" / "python"), str(clone / "deploy" / "rehearse.py"),
                 "--stage", "serve", "--workdir", str(workdir),
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
    asyncio.run(rehearse(workdir / "sangkien-bot", workdir, args.postgres))


if __name__ == "__main__":
    main()
