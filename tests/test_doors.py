"""The doors an attacker or a fault tried after the first rounds: roles a verified login left
unrevocable, powers that reached past their unit, attachment names that lie, download links in
the access log, backups readable by all, an export process that outlived its bot, weak link
secrets, and two operator inputs that ended in a traceback. Each test failed before its fix."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from openpyxl import load_workbook

from bot import admin
from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.errors import ConfigError
from bot.links import FileLinks
from bot.store.models import Attachment, RoleGrant
from rules.files import safe_filename
from tests.conftest import CliRun, running_app
from tests.fakechat import FakeChat
from tests.flow import PDF_BYTES, fill_profile, fill_until_attachments, grant_role, login
from tests.processes import ROOT, free_port, start_bot, stop_bot, wait_healthy
from tests.test_identity import agreed, rows
from tests.test_review_stats import officer, worker_submits

# --- 1. a role stays findable and revocable after a verified login takes the number ------


async def _officer_who_loses_the_number(app: App, clock: FixedClock) -> FakeChat:
    zalo = await agreed(app, "zl-officer")
    await zalo.send("0987 000 111")
    await grant_role(app, clock, zalo, "officer", "t24")
    owner = await agreed(app, "tg-owner", channel="telegram")
    await owner.share_contact("+84987000111")
    assert "đã xác minh qua Telegram" in owner.text
    await zalo.send("/duyet")
    assert "chưa có quyền" not in zalo.text  # the role stayed with the Zalo account
    return zalo


@pytest.mark.parametrize("how", ["phone", "grant"])
async def test_a_role_taken_with_a_number_a_verified_login_took_is_still_revocable(
    app: App, clock: FixedClock, how: str
) -> None:
    zalo = await _officer_who_loses_the_number(app, clock)
    listed = await admin.list_roles(app, "0987000111", None, None)
    [grant] = await rows(app, RoleGrant)
    assert f"#{grant.id}  officer tại Bắc Giang (t24)" in listed
    assert "số lúc nhận 0987***111 (số hiện tại: không có)" in listed
    assert "tài khoản: zalo" in listed
    if how == "phone":
        said = await admin.revoke(app, clock, "officer", "0987000111", "t24")
    else:
        said = await admin.revoke_grant(app, clock, grant.id)
    assert said.startswith("Đã thu hồi quyền"), said
    assert await rows(app, RoleGrant) == []
    await zalo.send("/duyet")
    assert "chưa có quyền" in zalo.text


async def test_revoking_what_nobody_holds_says_where_to_look(app: App, clock: FixedClock) -> None:
    said = await admin.revoke(app, clock, "officer", "0912345678", "t24")
    assert "Không có thay đổi" in said and "sangkien roles --phone" in said
    with pytest.raises(ConfigError, match="không có quyền #99"):
        await admin.revoke_grant(app, clock, 99)


# --- 2. a power granted on one unit reaches that unit's subtree only --------------------


async def test_an_admin_of_one_unit_cannot_undo_decisions_elsewhere(
    app: App, clock: FixedClock
) -> None:
    await worker_submits(
        app, "w-1", "0912 000 001", "bac giang", "chon chinh bac giang", "Sáng kiến Bắc Giang"
    )
    deciding = await officer(app, clock, "t24", phone="0987 000 222", user="officer-2")
    await deciding.send("/duyet SK-2022-000001")
    await deciding.click("✅ Hợp lệ")
    mixed = await officer(app, clock, "t24", phone="0987 000 333", user="officer-3")
    await grant_role(app, clock, mixed, "admin", "t34.dong_hung")
    clock.set(clock.now() + timedelta(days=3))
    await mixed.send("/duyet SK-2022-000001")
    assert mixed.text.startswith("Sáng kiến SK-2022-000001 (Hợp lệ)")
    assert "Hoàn tác quyết định" not in mixed.labels
    # an admin of Bắc Giang itself still may
    boss = await officer(app, clock, "t24", phone="0987 000 444", user="officer-4")
    await grant_role(app, clock, boss, "admin", "t24")
    await boss.send("/duyet SK-2022-000001")
    await boss.click("Hoàn tác quyết định")
    assert "trở lại “Đã gửi”" in boss.text


# --- 3. attachment names: what the bytes are, nothing hidden ----------------------------

NAMES = [  # sent as, shown and sent on as
    ("quyet-dinh\u202efdp.cmd", "quyet-dinhfdp.pdf"),
    ("bien-ban.html", "bien-ban.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("C:\\Users\\an\\Báo cáo\u200b kết quả.pdf", "Báo cáo kết quả.pdf"),
    ("x" * 300 + ".pdf", "x" * 100 + ".pdf"),
    ("", "tep.pdf"),
]


@pytest.mark.parametrize(("sent", "shown"), NAMES)
def test_a_file_name_is_cleaned_and_takes_its_real_type(sent: str, shown: str) -> None:
    assert safe_filename(sent, "pdf") == shown


async def test_a_lying_name_is_cleaned_on_the_card_the_download_and_the_export(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    settings = make_settings(db_url, public_url="https://bot.example.vn", link_secret="s" * 32)
    async with running_app(settings, clock) as app:
        author = FakeChat(app.engine, user_id="author", channel="telegram")
        await login(author)
        await author.click("Nộp sáng kiến mới")
        await fill_profile(author)
        await fill_until_attachments(author)
        await author.send_file(PDF_BYTES, "quyet-dinh\u202efdp.cmd")
        assert "Đã nhận: quyet-dinhfdp.pdf" in author.text
        await author.send_file(PDF_BYTES + b"2", "bien-ban.html")
        assert "Đã nhận: bien-ban.pdf" in author.text
        await author.send("xong")
        await author.send("không")
        await author.send("không")
        await author.click("Gửi sáng kiến")
        names = sorted(a.filename for a in await rows(app, Attachment))
        assert names == ["bien-ban.pdf", "quyet-dinhfdp.pdf"]
        reviewer = await officer(app, clock, "t24", user="officer-zl")
        await reviewer.send("/duyet SK-2022-000001")
        sent = [f for reply in reviewer.replies for f in reply.files]
        assert sorted(f.name for f in sent) == ["bien-ban.pdf", "quyet-dinhfdp.pdf"]
        links = [str(f.url) for f in sent]
        assert all("%E2%80%AE" not in link and ".cmd" not in link for link in links), links
        assert any("name=quyet-dinhfdp.pdf" in link for link in links), links
        await reviewer.click("✅ Hợp lệ")
        out = tmp_path / "out.xlsx"
        await admin.write_export(app, "t24", None, None, out, None, False)
        cells = [str(c.value) for row in load_workbook(out).active.iter_rows() for c in row]
        assert any("quyet-dinhfdp.pdf" in c for c in cells)
        assert not any("\u202e" in c or ".html" in c for c in cells)


# --- 4. signed links stay out of the access log -----------------------------------------


async def test_the_access_log_keeps_no_signed_link(tmp_path: Path) -> None:
    from tests.fake_zalo import FakeZalo

    zalo = FakeZalo()
    await zalo.start()
    port = free_port()
    process = await start_bot(
        ["serve", "--port", str(port)],
        tmp_path,
        SANGKIEN_LOG_LEVEL="INFO",
        SANGKIEN_ZALO_TOKEN=zalo.token,
        SANGKIEN_ZALO_API_BASE=zalo.base_url,
        SANGKIEN_ZALO_WEBHOOK_SECRET="z" * 16,
        SANGKIEN_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SANGKIEN_LINK_SECRET="k" * 40,
    )
    stored = "a" * 64 + ".pdf"
    query = "name=bi-mat.pdf&exp=9999999999&sig=" + "f" * 32
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, port)
            async with http.get(f"http://127.0.0.1:{port}/files/{stored}?{query}") as answer:
                assert answer.status == 403
    finally:
        logged = await stop_bot(process)
        await zalo.stop()
    assert f"/files/{stored}" in logged  # the request is logged…
    assert "sig=" not in logged and "bi-mat" not in logged  # …without its query


# --- 5. backups: no password in ps, private files, a non-empty target refused ----------


def _modes(folder: Path) -> set[tuple[str, int]]:
    return {
        ("dir" if p.is_dir() else "file", stat.S_IMODE(p.stat().st_mode))
        for p in [folder, *folder.rglob("*")]
    }


def test_a_backup_is_private_whatever_the_umask(tmp_path: Path, cli: CliRun) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/b.db"
    files = tmp_path / "files" / "ab"
    files.mkdir(parents=True)
    (files / ("ab" + "0" * 62 + ".pdf")).write_bytes(PDF_BYTES)
    (files / ("ab" + "0" * 62 + ".pdf")).chmod(0o644)
    assert cli(["db", "upgrade", "--db", database]).returncode == 0
    before = os.umask(0o022)
    try:
        done = cli(
            ["db", "backup", str(tmp_path / "copy"), "--db", database],
            SANGKIEN_FILES_DIR=str(tmp_path / "files"),
        )
    finally:
        os.umask(before)
    assert done.returncode == 0, done.stderr
    assert _modes(tmp_path / "copy") == {("dir", 0o700), ("file", 0o600)}


@pytest.mark.postgres
def test_pg_dump_gets_the_password_outside_its_command_line(tmp_path: Path) -> None:
    """A fake pg_dump on the PATH records what it was given."""
    from bot.backup import backup

    fake = tmp_path / "bin"
    fake.mkdir()
    record = tmp_path / "seen.txt"
    (fake / "pg_dump").write_text(
        "#!/bin/sh\n"
        f'echo "args: $*" > {record}\n'
        f'echo "env: $PGPASSWORD" >> {record}\n'
        'for a in "$@"; do case "$a" in --file=*) : > "${a#--file=}";; esac; done\n'
    )
    (fake / "pg_dump").chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{fake}:{path}"
    try:
        backup(
            "postgresql+asyncpg://sangkien:Mat-Khau-9@127.0.0.1:5432/sangkien",
            tmp_path / "none",
            tmp_path / "copy",
        )
    finally:
        os.environ["PATH"] = path
    seen = record.read_text()
    assert "Mat-Khau-9" not in seen.split("env:")[0]
    assert "env: Mat-Khau-9" in seen
    assert "postgresql://sangkien@127.0.0.1:5432/sangkien" in seen


@pytest.mark.postgres
def test_a_restore_into_a_database_with_tables_is_refused(
    tmp_path: Path, postgres_url: str, cli: CliRun
) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path}/s.db"
    assert cli(["db", "upgrade", "--db", source]).returncode == 0
    made = cli(["db", "backup", str(tmp_path / "copy"), "--db", source])
    assert made.returncode == 0, made.stderr
    (tmp_path / "copy" / "sangkien.pgdump").write_bytes(b"")
    done = cli(["db", "restore", str(tmp_path / "copy"), "--db", postgres_url])
    assert done.returncode == 2, done.stderr
    assert "đã có dữ liệu" in done.stderr and "Traceback" not in done.stderr


# --- 6. the export process ends with its parent ------------------------------------------

PARENT = """
import asyncio, sys
from bot.app import build_app
from bot.config import Settings
from bot.stats.export import ExportRequest
from bot.stats.views import Period

async def main():
    app = build_app(Settings(database_url=sys.argv[1]))
    services = app.engine.services
    request = ExportRequest(services.campaign, services.catalog, "*", Period(None, None), False)
    task = asyncio.ensure_future(services.exports.run(request))
    await asyncio.sleep(0.5)
    print("started", flush=True)
    await task

asyncio.run(main())
"""


@pytest.mark.postgres
def test_the_export_process_ends_when_the_bot_is_killed(postgres_url: str) -> None:
    """The export is held on a table lock, as a long one would be; then kill -9 the bot."""
    import asyncpg

    from tests.conftest import PG_ADMIN_DSN

    async def scenario() -> list[int]:
        database = postgres_url.rsplit("/", 1)[1]
        holder = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database)
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("LOCK TABLE submission IN ACCESS EXCLUSIVE MODE")
        parent = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PARENT, postgres_url, cwd=ROOT, stdout=subprocess.PIPE
        )
        assert parent.stdout is not None
        assert await asyncio.wait_for(parent.stdout.readline(), 60) == b"started\n"
        children = _children(parent.pid)
        assert children, "no export process started"
        parent.kill()
        await parent.wait()
        for _ in range(100):  # a guard, not a timing: PR_SET_PDEATHSIG acts at once
            alive = [pid for pid in children if _alive(pid)]
            if not alive:
                break
            await asyncio.sleep(0.1)
        await transaction.rollback()
        await holder.close()
        return alive

    assert asyncio.run(scenario()) == []


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    direct = [int(p) for p in found.stdout.split()]
    return direct + [c for child in direct for c in _children(child)]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


# --- 7. link secrets and lifetimes --------------------------------------------------------


@pytest.mark.parametrize("secret", ["a", "x" * 31, "change-me-openssl-rand-hex-32" + "0" * 8])
def test_a_short_or_sample_link_secret_is_refused(
    db_url: str, make_settings: Callable[..., Settings], secret: str
) -> None:
    settings = make_settings(db_url, public_url="https://bot.example.vn", link_secret=secret)
    with pytest.raises(ConfigError, match="SANGKIEN_LINK_SECRET"):
        build_app(settings)


async def test_zalo_links_live_one_hour(app: App, clock: FixedClock) -> None:
    from bot.links import LIFETIME

    links = FileLinks("https://bot.example.vn", "k" * 40)
    url = links.url_for("/x/" + "a" * 64 + ".pdf", "a.pdf", clock.now())
    expires = int(url.split("exp=")[1].split("&")[0])
    assert timedelta(hours=1) == LIFETIME
    assert expires == int((clock.now() + timedelta(hours=1)).timestamp())


# --- 8. two operator inputs that crashed --------------------------------------------------


async def test_a_malformed_telegram_token_is_one_line(tmp_path: Path) -> None:
    process = await start_bot(
        ["run", "telegram"], tmp_path, SANGKIEN_TELEGRAM_TOKEN="abc", SANGKIEN_LOG_LEVEL="ERROR"
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    lines = err.decode().strip().splitlines()
    assert process.returncode == 2, lines
    assert "Traceback" not in err.decode() and len(lines) <= 3, lines
    assert "SANGKIEN_TELEGRAM_TOKEN không đúng dạng" in lines[-1], lines


def test_an_expiry_of_five_thousand_digits_is_refused_not_a_crash(clock: FixedClock) -> None:
    links = FileLinks("https://bot.example.vn", "k" * 40)
    stored = "a" * 64 + ".pdf"
    assert links.verify(stored, "a.pdf", "9" * 5000, "0" * 32, clock.now()) is False


async def test_the_server_answers_a_huge_expiry_with_403(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.server import build_web_app

    settings = make_settings(
        db_url,
        zalo_token="1:zalo",
        zalo_webhook_secret="zalo-secret",
        public_url="https://bot.example.vn",
        link_secret="s" * 32,
    )
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    async with running_app(settings, clock) as app:
        client = TestClient(TestServer(build_web_app(app)))
        await client.start_server()
        try:
            answer = await client.get(
                "/files/" + "a" * 64 + ".pdf?name=a.pdf&exp=" + "9" * 5000 + "&sig=0"
            )
            assert answer.status == 403
        finally:
            await client.close()
