"""An operator's mistakes: each ends within seconds, non-zero, with one line in Vietnamese
that names what to check, and no traceback. The runners (`serve`, `run`) are real processes;
the one-shot commands go through the same entry point in this process (the `cli` fixture)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import CliRun
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.processes import ROOT, free_port, start_bot


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeTelegram, FakeZalo]]:
    telegram, zalo = FakeTelegram(), FakeZalo()
    await telegram.start()
    await zalo.start()
    yield telegram, zalo
    await zalo.stop()
    await telegram.stop()


CASES = [  # what the operator runs, with what, the exit code, words the line must hold
    (
        ["run", "zalo"],
        {"SANGKIEN_ZALO_TOKEN": "1:wrong", "SANGKIEN_ZALO_API_BASE": "{zalo}"},
        2,
        "SANGKIEN_ZALO_TOKEN",
    ),
    (
        ["run", "zalo"],
        {"SANGKIEN_ZALO_TOKEN": "1:x", "SANGKIEN_ZALO_API_BASE": "http://127.0.0.1:{closed}"},
        3,
        "không kết nối được máy chủ Zalo",
    ),
    (
        ["run", "telegram"],
        {"SANGKIEN_TELEGRAM_TOKEN": "123:wrong", "SANGKIEN_TELEGRAM_API_BASE": "{telegram}"},
        2,
        "@BotFather",
    ),
    (
        ["run", "telegram"],
        {
            "SANGKIEN_TELEGRAM_TOKEN": "123:x",
            "SANGKIEN_TELEGRAM_API_BASE": "http://127.0.0.1:{closed}",
        },
        3,
        "không kết nối được Telegram",
    ),
    # `serve` says what `run` says (it printed tracebacks)
    (
        ["serve", "--port", "{port}"],
        {
            "SANGKIEN_TELEGRAM_TOKEN": "123:wrong",
            "SANGKIEN_TELEGRAM_API_BASE": "{telegram}",
            "SANGKIEN_TELEGRAM_WEBHOOK_SECRET": "tg-secret",
        },
        2,
        "@BotFather",
    ),
    (
        ["serve", "--port", "{port}"],
        {
            "SANGKIEN_TELEGRAM_TOKEN": "123:x",
            "SANGKIEN_TELEGRAM_API_BASE": "http://127.0.0.1:{closed}",
            "SANGKIEN_TELEGRAM_WEBHOOK_SECRET": "tg-secret",
        },
        3,
        "không kết nối được Telegram",
    ),
    (
        ["serve", "--port", "{port}"],
        {"SANGKIEN_TELEGRAM_TOKEN": "abc", "SANGKIEN_TELEGRAM_WEBHOOK_SECRET": "tg-secret"},
        2,
        "SANGKIEN_TELEGRAM_TOKEN không đúng dạng",
    ),
    (
        ["serve", "--port", "{port}"],
        {
            "SANGKIEN_ZALO_TOKEN": "1:wrong",
            "SANGKIEN_ZALO_API_BASE": "{zalo}",
            "SANGKIEN_ZALO_WEBHOOK_SECRET": "zalo-secret",
            "SANGKIEN_ZALO_WEBHOOK_URL": "https://bot.example.vn/zalo/webhook",
        },
        2,
        "SANGKIEN_ZALO_TOKEN",
    ),
    (
        ["serve", "--port", "{port}"],
        {
            "SANGKIEN_TELEGRAM_TOKEN": "123:x",
            "SANGKIEN_TELEGRAM_WEBHOOK_SECRET": "ab+c/d=",
        },
        2,
        "chỉ được gồm chữ cái không dấu",
    ),
]


@pytest.mark.parametrize(("args", "env", "code", "words"), CASES)
async def test_a_misconfigured_runner_stops_with_one_line(
    servers: tuple[FakeTelegram, FakeZalo],
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    code: int,
    words: str,
) -> None:
    telegram, zalo = servers
    values = {
        "zalo": zalo.base_url,
        "telegram": telegram.base_url,
        "closed": str(free_port()),
        "port": str(free_port()),
    }
    process = await start_bot(
        [a.format(**values) for a in args],
        tmp_path,
        SANGKIEN_LOG_LEVEL="CRITICAL",
        **{name: value.format(**values) for name, value in env.items()},
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)  # a guard, not a timing
    lines = err.decode().strip().splitlines()
    assert process.returncode == code, lines
    assert "Traceback" not in err.decode() and 1 <= len(lines) <= 3, lines
    assert words in lines[-1], lines


async def test_a_second_serve_on_a_busy_port_leaves_the_webhooks_alone(
    servers: tuple[FakeTelegram, FakeZalo], tmp_path: Path
) -> None:
    _telegram, zalo = servers
    port = str(free_port())
    common = {
        "SANGKIEN_ZALO_TOKEN": zalo.token,
        "SANGKIEN_ZALO_API_BASE": zalo.base_url,
        "SANGKIEN_ZALO_WEBHOOK_SECRET": "zalo-secret",
    }
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    first = await start_bot(
        ["serve", "--port", port],
        first_dir,
        **{**common, "SANGKIEN_DATABASE_URL": f"sqlite+aiosqlite:///{first_dir}/bot.db"},
        SANGKIEN_ZALO_WEBHOOK_URL="https://bot.example.vn/zalo/webhook",
    )
    try:
        for _ in range(300):  # a guard, not a timing
            if zalo.webhook_url:
                break
            await asyncio.sleep(0.1)
        assert zalo.webhook_url == "https://bot.example.vn/zalo/webhook"
        second = await start_bot(
            ["serve", "--port", port],
            second_dir,
            **{**common, "SANGKIEN_DATABASE_URL": f"sqlite+aiosqlite:///{second_dir}/bot.db"},
            SANGKIEN_ZALO_WEBHOOK_URL="https://staging.example.vn/zalo/webhook",
        )
        _out, err = await asyncio.wait_for(second.communicate(), 60)
        lines = err.decode().strip().splitlines()
        assert second.returncode == 2, lines
        assert "Traceback" not in err.decode() and f"cổng {port}" in lines[-1], lines
        assert "đã sẵn sàng" not in err.decode()
        assert zalo.webhook_url == "https://bot.example.vn/zalo/webhook"
    finally:
        first.terminate()
        await first.communicate()


async def test_two_bots_on_one_sqlite_file_are_refused(
    servers: tuple[FakeTelegram, FakeZalo], tmp_path: Path
) -> None:
    _telegram, zalo = servers
    env = {
        "SANGKIEN_ZALO_TOKEN": zalo.token,
        "SANGKIEN_ZALO_API_BASE": zalo.base_url,
        "SANGKIEN_ZALO_WEBHOOK_SECRET": "zalo-secret",
    }
    first = await start_bot(["serve", "--port", str(free_port())], tmp_path, **env)
    try:
        assert first.stderr is not None
        while b"nghe tr" not in await asyncio.wait_for(first.stderr.readline(), 60):
            pass
        second = await start_bot(["serve", "--port", str(free_port())], tmp_path, **env)
        _out, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 2, err.decode()
        assert "một tiến trình bot khác" in err.decode() and "Traceback" not in err.decode()
    finally:
        first.terminate()
        await first.communicate()


PG = "postgresql+asyncpg://postgres@127.0.0.1"
MISTAKES = [  # the command, the environment, exit code, words of the one line
    (["stats", "--db", "foo://x"], {}, 2, "địa chỉ cơ sở dữ liệu"),
    (["stats", "--db", "không phải địa chỉ"], {}, 2, "địa chỉ cơ sở dữ liệu"),
    (["db", "upgrade", "--db", "sqlite:///{tmp}/sync.db"], {}, 2, "bất đồng bộ"),
    (["stats", "--db", PG + ":{closed}/x"], {}, 3, "không kết nối được cơ sở dữ liệu"),
    (["stats", "--db", "sqlite+aiosqlite:///{tmp}/go-nham.db"], {}, 2, "không có tệp cơ sở"),
    (["export", "--out", "{tmp}/khong/co/x.xlsx", "--db", "{made}"], {}, 2, "không có thư mục"),
    (["chat", "--now", "hôm qua"], {}, 2, "--now"),
    (["check"], {"SANGKIEN_PORT": "abc"}, 2, "SANGKIEN_PORT"),
    # a pool of -1 waited for ever on PostgreSQL, and 0 is SQLAlchemy's "no limit"
    (
        ["check"],
        {"SANGKIEN_DB_POOL_SIZE": "-1"},
        2,
        "SANGKIEN_DB_POOL_SIZE không hợp lệ (đang là “-1”, cần từ 1 trở lên)",
    ),
    (["check"], {"SANGKIEN_DB_POOL_SIZE": "0"}, 2, "cần từ 1 trở lên"),
    (["check"], {"SANGKIEN_DB_MAX_OVERFLOW": "-5"}, 2, "SANGKIEN_DB_MAX_OVERFLOW không hợp lệ"),
    (["check"], {"SANGKIEN_TELEGRAM_PER_SECOND": "0"}, 2, "(đang là “0”, cần lớn hơn 0)"),
    # URLs as operators write them (each was a traceback)
    (["db", "upgrade", "--db", "postgresql://postgres@127.0.0.1/test"], {}, 2, "bất đồng bộ"),
    (
        ["db", "upgrade", "--db", "postgresql+asyncpg://postgres@no-such-host.invalid/x"],
        {},
        3,
        "không tìm thấy máy chủ cơ sở dữ liệu",
    ),
    (
        ["db", "upgrade"],
        {"SANGKIEN_DATABASE_URL": "postgresql+asyncpg://s:change-me-openssl@127.0.0.1/x"},
        2,
        "mật khẩu trong SANGKIEN_DATABASE_URL vẫn là giá trị mẫu",
    ),
    # data files
    (["check"], {"SANGKIEN_CAMPAIGNS_FILE": "{tmp}/broken.yaml"}, 2, "dòng 3, cột 1"),
    (["check"], {"SANGKIEN_CAMPAIGNS_FILE": "{tmp}/twice.yaml"}, 2, "khóa “closes” lặp lại"),
    (
        ["units", "import", "{tmp}/twice.csv"],
        {"SANGKIEN_UNITS_EXTRA_FILE": "{tmp}/extra.yaml"},
        2,
        "dòng 3 (t24.cd_a): mã đã có ở dòng 2",
    ),
    # an admin code anyone could claim
    (["grant", "admin", "--unit", "*", "--db", "{made}"], {}, 2, "cần số điện thoại"),
]

BROKEN_CAMPAIGNS = "campaigns:\n  - code: x\n\tname: một tab ở đầu dòng\n"


def _data_files(tmp: Path) -> None:
    shipped = (ROOT / "campaigns.yaml").read_text(encoding="utf-8")
    (tmp / "broken.yaml").write_text(BROKEN_CAMPAIGNS, encoding="utf-8")
    twice = shipped.replace(
        "        closes: 2023-09-02T00:00\n",
        "        closes: 2023-09-02T00:00\n        closes: 2023-12-31T00:00\n",
        1,
    )
    assert twice != shipped
    (tmp / "twice.yaml").write_text(twice, encoding="utf-8")
    (tmp / "twice.csv").write_text(
        "mã,tên,mã cấp trên\nt24.cd_a,CĐCS A,t24\nt24.cd_a,CĐCS A khác,t24\n", encoding="utf-8"
    )


@pytest.mark.parametrize(("args", "env", "code", "words"), MISTAKES)
def test_an_operator_mistake_is_one_line(
    tmp_path: Path, cli: CliRun, args: list[str], env: dict[str, str], code: int, words: str
) -> None:
    made = f"sqlite+aiosqlite:///{tmp_path}/made.db"
    values = {"tmp": str(tmp_path), "closed": str(free_port()), "made": made}
    if "{made}" in args:
        assert cli(["db", "upgrade", "--db", made]).returncode == 0
    _data_files(tmp_path)
    env = {name: value.format(**values) for name, value in env.items()}
    result = cli([a.format(**values) for a in args], **env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and len(lines) <= 3, lines
    assert words in result.stderr, lines


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_named(cli: CliRun) -> None:
    from tests.conftest import _need_postgres

    _need_postgres()
    result = cli(["stats", "--db", PG + ":5432/khong_co_csdl_nay"])
    assert result.returncode == 2 and "chưa có: tạo nó trước" in result.stderr
    assert "Traceback" not in result.stderr


def test_output_cut_short_by_its_reader_is_no_error(tmp_path: Path) -> None:
    """`sangkien units list | head -1`: the reader leaves early; that is not a database
    error (it used to say “Lỗi kết nối … cơ sở dữ liệu” and exit 3). `true` reads nothing at
    all, so the first write always finds the pipe closed."""
    import subprocess
    import sys

    command = f"{sys.executable} -m bot.cli units list | true; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stderr == "", (done.returncode, done.stderr)


def test_a_misspelled_setting_is_named_and_the_database_said(tmp_path: Path, cli: CliRun) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/one.db"
    done = cli(["db", "upgrade"], SANGKIEN_DATABSE_URL=database)
    assert done.returncode == 0, done.stderr
    assert "SANGKIEN_DATABSE_URL (có phải SANGKIEN_DATABASE_URL?)" in done.stderr
    assert "sangkien: cơ sở dữ liệu sqlite+aiosqlite:///" in done.stderr  # the default used


def test_the_wrong_password_is_named() -> None:
    import asyncpg

    from bot.explain import explain

    said = explain(asyncpg.InvalidPasswordError('password authentication failed for user "s"'))
    assert said is not None and said[0] == 2 and "không nhận mật khẩu" in said[1]


@pytest.mark.postgres
def test_postgresql_urls_as_operators_get_them_wrong(
    tmp_path: Path, cli: CliRun, empty_postgres_url: str
) -> None:
    first = cli(["db", "upgrade", "--db", empty_postgres_url])
    assert first.returncode == 0 and "Đã tạo các bảng" in first.stdout, first.stdout
    again = cli(["db", "upgrade", "--db", empty_postgres_url])
    assert "đã ở phiên bản mới nhất" in again.stdout
    nobody = empty_postgres_url.replace("postgres@", "nobody@")
    done = cli(["stats", "--db", nobody])
    assert done.returncode == 2 and "không có người dùng" in done.stderr, done.stderr
    source = f"sqlite+aiosqlite:///{tmp_path}/s.db"
    assert cli(["db", "upgrade", "--db", source]).returncode == 0
    assert cli(["db", "backup", str(tmp_path / "copy"), "--db", source]).returncode == 0
    missing = empty_postgres_url.rsplit("/", 1)[0] + "/khong_co_csdl_nay"
    done = cli(["db", "restore", str(tmp_path / "copy"), "--db", missing])
    assert done.returncode == 2 and "chưa có: tạo nó trước" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
