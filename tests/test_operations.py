"""What the operator runs the bot with: /metrics, backups that restore, the README's commands."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.backup import backup
from bot.clock import FixedClock
from bot.config import Settings
from bot.server import build_web_app
from bot.store.models import Submission
from tests.conftest import CliRun, running_app
from tests.fakechat import FakeChat
from tests.flow import fill_initiative, fill_profile, fill_until_attachments, login, submit_new


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus's text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and ",".join(sorted((match[1] or "").split(","))).strip(",") == wanted:
            return float(match[2])
    return 0.0


async def test_metrics_after_a_short_conversation(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings(db_url, zalo_token="1:zalo", zalo_webhook_secret="zalo-secret")
    async with running_app(settings, clock) as app:
        client = TestClient(TestServer(build_web_app(app)))
        await client.start_server()
        try:
            worker = FakeChat(app.engine, user_id="metrics-worker", channel="zalo")
            await login(worker)
            await submit_new(worker)
            await worker.send("/hotro")
            await worker.click("Hỏi tư vấn viên")
            await worker.send("Sáng kiến đã nộp có sửa được không?")
            sent = worker.updates

            response = await client.get("/metrics")
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
        finally:
            await client.close()

    answered = sample(text, "sangkien_updates_total", channel="zalo", outcome="answered")
    assert answered == sent > 20
    assert sample(text, "sangkien_update_seconds_count", channel="zalo") == sent
    assert sample(text, "sangkien_update_seconds_bucket", channel="zalo", le="+Inf") == sent
    assert sample(text, "sangkien_submissions", status="submitted") == 1
    assert sample(text, "sangkien_support_tickets_open") == 1
    assert "sangkien_outbox_pending " in text and "sangkien_database_errors" in text
    assert "0901" not in text and "metrics-worker" not in text  # no person in a label


async def test_metrics_token_keeps_strangers_out(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings(
        db_url,
        zalo_token="1:zalo",
        zalo_webhook_secret="zalo-secret",
        metrics_token="scrape-me-please",
    )
    async with running_app(settings, clock) as app:
        client = TestClient(TestServer(build_web_app(app)))
        await client.start_server()
        try:
            for headers in ({}, {"Authorization": "Bearer sai"}, {"Authorization": "scrape"}):
                response = await client.get("/metrics", headers=headers)
                assert response.status == 401, headers
            allowed = await client.get(
                "/metrics", headers={"Authorization": "Bearer scrape-me-please"}
            )
            assert allowed.status == 200
            assert "# TYPE sangkien_updates_total counter" in await allowed.text()
        finally:
            await client.close()


def unique_pdf(index: int) -> bytes:
    return b"%PDF-1.4\n% attachment " + str(index).encode() + b"\n%%EOF\n"


async def file_one(chat: FakeChat, index: int) -> None:
    await chat.send("/menu")
    await chat.click("Nộp sáng kiến mới")
    await chat.click("Dùng thông tin này")
    title = f"Sáng kiến trong lúc sao lưu {index}"
    await fill_initiative(chat, title, attachment=(unique_pdf(index), f"tai-lieu-{index}.pdf"))
    await chat.click("Gửi sáng kiến")
    assert "SK-2022-" in chat.text, chat.text


async def test_a_backup_under_live_writes_restores_every_submission_draft_and_file(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    settings = make_settings(db_url)
    async with running_app(settings, clock) as app:
        writers = [FakeChat(app.engine, user_id=f"writer-{i}", channel="zalo") for i in range(3)]
        for index, writer in enumerate(writers):
            await login(writer, f"0912 000 00{index}")
            await submit_new(writer)
        drafting = FakeChat(app.engine, user_id="drafting", channel="telegram")
        await login(drafting, "0912 000 099")
        await drafting.click("Nộp sáng kiến mới")
        await fill_profile(drafting)
        await fill_until_attachments(drafting, "Bản nháp chưa gửi")
        await drafting.send_file(unique_pdf(999), "nhap.pdf")
        before = await submission_codes(db_url)

        async def keep_filing(writer: FakeChat, first: int) -> None:
            for index in range(first, first + 3):
                await file_one(writer, index)

        filing = asyncio.gather(*(keep_filing(w, 10 * (i + 1)) for i, w in enumerate(writers)))
        await asyncio.sleep(0.05)  # the writers are under way
        dest = tmp_path / "backup"
        said = await asyncio.to_thread(backup, db_url, settings.files_dir, dest)
        await filing
        assert "Đã sao lưu" in said and len(before) == 3

    restored_db = tmp_path / "restored" / "sangkien.db"
    restored_files = tmp_path / "restored" / "files"
    command = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "restore", str(dest),
         "--db", f"sqlite+aiosqlite:///{restored_db}"],
        env={**os.environ, "SANGKIEN_FILES_DIR": str(restored_files)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert command.returncode == 0, command.stderr
    assert "Đã khôi phục" in command.stdout

    restored_url = f"sqlite+aiosqlite:///{restored_db}"
    codes = await submission_codes(restored_url)
    assert set(before) <= set(codes)
    with closing(sqlite3.connect(restored_db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = connection.execute(
            "SELECT sha256, filename FROM attachment WHERE kind = 'file'"
        ).fetchall()
        states = [row[0] for row in connection.execute("SELECT state FROM conversation")]
    assert len(stored) == len(codes)  # one PDF each
    for sha256, filename in stored:
        extension = filename.rsplit(".", 1)[1]
        assert (restored_files / sha256[:2] / f"{sha256}.{extension}").is_file(), filename
    assert any("Bản nháp chưa gửi" in state for state in states)
    draft_pdf = hashlib.sha256(unique_pdf(999)).hexdigest()
    assert (restored_files / draft_pdf[:2] / f"{draft_pdf}.pdf").is_file()

    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "restore", str(dest),
         "--db", f"sqlite+aiosqlite:///{restored_db}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 2 and "khôi phục vào một tệp mới" in again.stderr
    assert "Traceback" not in again.stderr


async def submission_codes(url: str) -> list[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.scalars(select(Submission.code))).all())
    finally:
        await engine.dispose()


async def test_json_logs_one_event_a_line_without_personal_data(tmp_path: Path) -> None:
    import json

    import aiohttp

    from tests.fake_zalo import FakeZalo, FakeZaloPerson
    from tests.processes import free_port, start_bot, stop_bot, wait_healthy

    zalo = FakeZalo()
    await zalo.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/zalo/webhook"
    process = await start_bot(
        ["serve", "--port", str(port)],
        tmp_path,
        SANGKIEN_ZALO_TOKEN=zalo.token,
        SANGKIEN_ZALO_API_BASE=zalo.base_url,
        SANGKIEN_ZALO_WEBHOOK_URL=url,
        SANGKIEN_ZALO_WEBHOOK_SECRET="zalo-webhook-secret",
        SANGKIEN_LOG_FORMAT="json",
        SANGKIEN_LOG_LEVEL="DEBUG",
    )
    person = FakeZaloPerson(zalo, "7fe0b1c2d3e4f5a6b7c8")
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, port)
            assert "Trả lời CÓ hoặc KHÔNG" in await person.say("Xin chào")
            await person.say("CÓ")
            assert "Đăng nhập thành công" in await person.say("0901.234.567")
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
    finally:
        log = await stop_bot(process)
        await zalo.stop()
    assert sample(metrics, "sangkien_updates_total", channel="zalo", outcome="answered") == 3
    events = [json.loads(line) for line in log.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(events[0])
    assert any("nghe trên 127.0.0.1" in event["message"] for event in events)
    for secret in ("0901234567", "901234567", "7fe0b1c2d3e4f5a6b7c8", zalo.token):
        assert secret not in log


def readme_commands() -> list[str]:
    """The README's commands that are safe to run anywhere: its ```bash blocks (```sh
    blocks need tokens, a terminal or a server)."""
    from bot.config import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_commands_run_as_written(
    tmp_path: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first command through bash and the installed script, as an operator types it; the
    others, split as bash splits them, through the same entry point in this process."""
    commands = readme_commands()
    assert len(commands) >= 6 and all(c.startswith(".venv/bin/sangkien ") for c in commands)
    bin_dir = Path(sys.executable).parent
    env = {
        "SANGKIEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "SANGKIEN_FILES_DIR": str(tmp_path / "files"),
    }
    everything = {**os.environ, **env}
    upgrade = [bin_dir / "sangkien", "db", "upgrade"]
    subprocess.run(upgrade, env=everything, check=True, cwd=tmp_path)
    first, *others = commands
    done = subprocess.run(
        ["bash", "-c", first.replace(".venv/bin/", f"{bin_dir}/", 1)],
        env=everything, cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, (first, done.stderr)
    monkeypatch.chdir(tmp_path)
    for command in others:
        said = cli(shlex.split(command, comments=True)[1:], **env)
        assert said.returncode == 0, (command, said.stderr)
    assert (tmp_path / "tong-hop.xlsx").is_file() and (tmp_path / "tong-hop.csv").is_file()


def test_every_setting_is_in_the_operations_guide() -> None:
    from bot.config import ROOT, Settings

    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"SANGKIEN_{name.upper()}" not in guide]
    assert missing == []


@pytest.mark.postgres
async def test_a_postgresql_backup_restores_into_a_new_database(
    clean_postgres_url: str,
    empty_postgres_url: str,
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    """pg_dump and pg_restore, through the command line, into a database made for it."""
    settings = make_settings(clean_postgres_url)
    async with running_app(settings, clock) as app:
        author = FakeChat(app.engine, user_id="pg-author", channel="zalo")
        await login(author)
        await submit_new(author)
    dest = tmp_path / "backup"
    said = await asyncio.to_thread(backup, clean_postgres_url, settings.files_dir, dest)
    assert "sangkien.pgdump" in said

    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "restore", str(dest), "--db", empty_postgres_url],
        env={**os.environ, "SANGKIEN_FILES_DIR": str(tmp_path / "restored-files")},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    restored = await submission_codes(empty_postgres_url)
    assert restored == await submission_codes(clean_postgres_url) and len(restored) == 1
    assert list((tmp_path / "restored-files").glob("??/*.pdf"))


@pytest.mark.postgres
def test_a_failed_backup_leaves_nothing_behind(tmp_path: Path) -> None:
    """pg_dump cannot reach the database: one line, exit 3, and no half-made backup that a
    second try would refuse or a restore would take."""
    from tests.conftest import PG_ADMIN_DSN, _need_postgres

    _need_postgres()
    missing = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    dest = tmp_path / "backup"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "backup", str(dest),
         "--db", f"{missing}/khong_co_csdl_nay"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 3 and "pg_dump" in done.stderr, done.stderr
    assert not dest.exists()
