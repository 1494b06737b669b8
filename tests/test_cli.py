"""The command line as an operator and a trial user run it: real processes, piped input."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
from alembic.script import ScriptDirectory

from bot.store.db import alembic_config
from tests.conftest import CliRun
from tests.flow import DESCRIPTION, PDF_BYTES, claim_code_in

ROOT = Path(__file__).resolve().parent.parent


def run(
    args: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SANGKIEN_FILES_DIR": str(tmp_path / "files"), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        text=True,
        capture_output=True,
        cwd=ROOT,
        env=environment,
        timeout=120,
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for command in ("chat", "db", "check"):
        assert command in result.stdout


def test_console_chat_full_submission_with_piped_input(tmp_path: Path) -> None:
    pdf = tmp_path / "bao cao.pdf"
    pdf.write_bytes(PDF_BYTES)
    lines = [
        "xin chào",
        "1",
        "0901 234 567",
        "Nộp sáng kiến mới",
        "Hoàng Văn Hải",
        "1982",
        "Tổ trưởng",
        "Công ty May Bắc Giang",
        "BẮC GIANG",
        "1",
        "2",
        "Cải tiến bàn là hơi tiết kiệm điện",
        "1",
        "01/10/2021",
        "31/12/2021",
        DESCRIPTION,
        "50.000.000",
        "bỏ qua",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Giám đốc Công ty May",
        "33/QĐ-CTM",
        "05/01/2022",
        "bỏ qua",
        f"/tep {pdf}",
        "/tep /khong/co/tep/nay.pdf",
        "xong",
        "1",
        "1",
        "1",
        "2",
        "/thoat",
    ]
    db = tmp_path / "chat.db"
    result = run(
        [
            "chat",
            "--db",
            f"sqlite+aiosqlite:///{db}",
            "--now",
            "2022-03-01T09:00",
            "--user",
            "tester",
        ],
        tmp_path,
        "\n".join(lines) + "\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] Tôi đồng ý" in out
    assert "Đã nhận: bao cao.pdf" in out
    assert "Không đọc được tệp “/khong/co/tep/nay.pdf”" in out
    assert "Mã hồ sơ: SK-2022-000001" in out
    assert "SK-2022-000001 · Cải tiến bàn là hơi tiết kiệm điện · Đã gửi · 01/03/2022" in out
    with sqlite3.connect(db) as conn:
        title, unit, vnd = conn.execute(
            "select title, unit_code, benefit_vnd from submission"
        ).fetchone()
        assert (title, unit, vnd) == ("Cải tiến bàn là hơi tiết kiệm điện", "t24", 50_000_000)
        assert conn.execute("select count(*) from attachment").fetchone() == (1,)


def test_bad_catalog_stops_with_a_clear_message(tmp_path: Path, cli: CliRun) -> None:
    bad = tmp_path / "units.yaml"
    bad.write_text(
        "versions: [{code: a, name: A, valid_from: 2021-01-01, kinds: [{code: k, "
        "name: K, units: [{code: x, name: X}, {code: x, name: Y}]}]}]"
    )
    for args in (["check"], ["chat", "--db", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"]):
        result = cli(args, SANGKIEN_UNITS_FILE=str(bad))
        assert result.returncode == 2
        assert "Lỗi cấu hình" in result.stderr and "“x” bị trùng" in result.stderr


def test_check_and_db_upgrade(tmp_path: Path, cli: CliRun) -> None:
    result = cli(["check"])
    assert result.returncode == 0 and "OK: chiến dịch 1trieu" in result.stdout
    db = tmp_path / "fresh.db"
    result = cli(["db", "upgrade", "--db", f"sqlite+aiosqlite:///{db}"])
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        [version] = conn.execute("select version_num from alembic_version").fetchone()
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert version == head and head is not None


def test_operator_grants_a_role_by_claim_code_then_stats_export_revoke(
    tmp_path: Path, cli: CliRun
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"

    def chat(*lines: str) -> str:
        argv = ["chat", "--db", db, "--now", "2022-03-01T09:00"]
        result = cli(argv, "\n".join([*lines, "/thoat"]) + "\n")
        assert result.returncode == 0, result.stderr
        return result.stdout

    chat("chào", "1", "0901 234 567")
    granted = cli(["grant", "officer", "--unit", "t24", "--db", db])
    assert granted.returncode == 0 and "Mã nhận quyền officer tại Bắc Giang" in granted.stdout
    code = claim_code_in(granted.stdout)
    assert "chờ nhận" in cli(["grants", "--db", db]).stdout
    redeemed = chat(f"/nhanquyen {code}", "/duyet")
    assert "Bạn đã nhận quyền cán bộ duyệt và thống kê tại Bắc Giang" in redeemed
    assert "Không còn sáng kiến nào chờ duyệt" in redeemed
    assert "không đúng, đã dùng hoặc đã hết hạn" in chat(f"/nhanquyen {code}")
    assert "đã dùng bởi người #1" in cli(["grants", "--all", "--db", db]).stdout

    # A code meant for a number is refused to whoever only typed that number.
    for_phone = cli(["grant", "admin", "0901234567", "--unit", "*", "--db", db])
    assert "Chỉ nhận được bằng số 0901***567 đã xác minh" in for_phone.stdout
    assert "0901234567" not in for_phone.stdout and "+84901234567" not in for_phone.stdout
    assert "đã xác minh qua Telegram" in chat(f"/nhanquyen {claim_code_in(for_phone.stdout)}")
    cancelled = cli(["grants", "--cancel", "2", "--db", db])
    assert cancelled.returncode == 0 and "Đã hủy mã #2" in cancelled.stdout

    bad_unit = cli(["grant", "officer", "--unit", "t99", "--db", db])
    assert bad_unit.returncode == 2 and "không có đơn vị" in bad_unit.stderr
    figures = cli(["stats", "--unit", "t24", "--recount", "--db", db])
    assert figures.returncode == 0 and "Phạm vi: Bắc Giang" in figures.stdout
    out, csv_out = tmp_path / "tong-hop.xlsx", tmp_path / "tong-hop.csv"
    exported = cli(
        ["export", "--out", str(out), "--csv", str(csv_out), "--status", "all", "--db", db]
    )
    assert exported.returncode == 0 and "Đã ghi 0 sáng kiến" in exported.stdout
    assert out.read_bytes()[:2] == b"PK" and csv_out.read_text(encoding="utf-8-sig").startswith(
        "TT,"
    )
    revoked = cli(["revoke", "officer", "0901234567", "--unit", "t24", "--db", db])
    assert "Đã thu hồi" in revoked.stdout
    assert "chưa có quyền" in chat("/duyet")


def test_chat_creates_the_database_folder(tmp_path: Path, cli: CliRun) -> None:
    # A fresh clone has no data/ folder: the default database must still open.
    db = tmp_path / "not" / "there" / "yet.db"
    result = cli(["chat", "--db", f"sqlite+aiosqlite:///{db}"], "chào\n/thoat\n")
    assert result.returncode == 0, result.stderr
    assert "Tôi đồng ý" in result.stdout and db.exists()


def test_several_workers_need_postgresql(tmp_path: Path, cli: CliRun) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    result = cli(["serve", "--workers", "2", "--db", db], SANGKIEN_TELEGRAM_TOKEN="1:x")
    assert result.returncode == 2
    assert "cần PostgreSQL" in result.stderr
    assert not (tmp_path / "one.db").exists()  # refused before touching anything
    result = cli(["serve", "--workers", "0", "--db", db])
    assert result.returncode == 2 and "--workers phải từ 1" in result.stderr


def test_grassroots_units_are_imported_checked_listed_and_found_in_the_chat(
    tmp_path: Path, cli: CliRun
) -> None:
    extra = tmp_path / "units.extra.yaml"
    env = {"SANGKIEN_UNITS_EXTRA_FILE": str(extra)}
    bad = tmp_path / "bad.csv"
    bad.write_text("mã,tên,mã cấp trên\nt24.x,Một đơn vị,t99\nT24.Y,Sai mã,t24\n", "utf-8")
    refused = cli(["units", "import", str(bad)], **env)
    assert refused.returncode == 2 and not extra.exists()
    assert "dòng 2 (t24.x): đơn vị cấp trên “t99” không có" in refused.stderr
    assert "dòng 3 (T24.Y): mã chỉ được gồm chữ thường" in refused.stderr

    sheet = tmp_path / "cdcs.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Mã", "Tên", "Mã cấp trên", "Tên gọi khác"])
    book.active.append(["t24.hiep_hoa.may", "CĐCS Công ty May Hiệp Hòa", "t24.hiep_hoa", "May HH"])
    book.active.append(
        ["t24.hiep_hoa.may.px1", "Tổ công đoàn Phân xưởng 1", "t24.hiep_hoa.may", None]
    )
    book.save(sheet)
    imported = cli(["units", "import", str(sheet)], **env)
    assert imported.returncode == 0 and "Đã thêm 2 và cập nhật 0 đơn vị" in imported.stdout
    listed = cli(["units", "list", "--under", "t24.hiep_hoa"], **env).stdout
    assert "  t24.hiep_hoa.may  CĐCS Công ty May Hiệp Hòa\n" in listed
    assert "    t24.hiep_hoa.may.px1  Tổ công đoàn Phân xưởng 1" in listed
    found = cli(["units", "list", "--search", "may hh"], **env).stdout
    assert found.startswith("t24.hiep_hoa.may  Bắc Giang › LĐLĐ huyện Hiệp Hòa › CĐCS")

    renamed = tmp_path / "rename.csv"
    renamed.write_text(
        "code,name,parent\nt24.hiep_hoa.may,CĐCS Công ty CP May Hiệp Hòa,t24.hiep_hoa\n", "utf-8"
    )
    again = cli(["units", "import", str(renamed)], **env)
    assert "Đã thêm 0 và cập nhật 1 đơn vị" in again.stdout
    assert len(list(tmp_path.glob("units.extra.yaml.*.bak"))) == 1  # the version it replaced

    db = f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"
    lines = [
        "chào",
        "1",
        "0901 234 567",
        "1",
        "Lê Văn Ba",
        "1980",
        "Thợ may",
        "Công ty May",
        "cp may hiep hoa",
        "1",
        "/thoat",
    ]
    chat = cli(["chat", "--db", db, "--now", "2022-03-01T09:00"], "\n".join(lines) + "\n", **env)
    assert "Đơn vị: Bắc Giang › LĐLĐ huyện Hiệp Hòa › CĐCS Công ty CP May Hiệp Hòa" in chat.stdout
    granted = cli(
        ["grant", "officer", "--unit", "CĐCS Công ty CP May Hiệp Hòa", "--db", db], **env
    )
    assert "tại Bắc Giang › LĐLĐ huyện Hiệp Hòa › CĐCS Công ty CP May" in granted.stdout


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    """`sangkien --help` answers without loading the database or platform libraries."""
    probe = (
        "import sys, bot.cli\n"
        "heavy = [m for m in ('sqlalchemy', 'aiogram', 'aiohttp', 'httpx', 'openpyxl') "
        "if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_the_command_lines_roles_are_the_bots() -> None:
    from bot import access, cli

    assert cli.ROLE_CHOICES == access.ROLES
