"""`sangkien db backup DEST` and `sangkien db restore SRC`: the database and the stored
attachments, copied while the bot runs, and brought back into a new place.

SQLite is copied with its online backup API: one consistent snapshot, taken while writers
go on (in WAL mode they are not stopped). PostgreSQL is dumped by `pg_dump` (custom format)
and restored by `pg_restore`. The attachments are copied after the database: a file is
stored before the submission that names it commits, so every file the snapshot names is
there by then. Exports (one hour's lifetime) are left out."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.errors import ConfigError, UnreachableError
from bot.files import EXPORTS
from bot.store.db import is_sqlite, sqlite_file

SQLITE_COPY, PG_DUMP, FILES, MANIFEST = "sangkien.db", "sangkien.pgdump", "files", "backup.json"


def backup(database_url: str, files_dir: Path, dest: Path, files_url: str | None = None) -> str:
    """Into `dest`, a new or empty folder; returns what was written, for the operator. With a
    bucket (`files_url`) the files are not copied: the folder is only a cache, and a bucket
    is kept by its own means (said in the answer)."""
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"thư mục sao lưu “{dest}” đã có dữ liệu: chọn một thư mục mới")
    with _private():
        dest.mkdir(parents=True, exist_ok=True)
        try:
            if is_sqlite(database_url):
                _sqlite_copy(_sqlite_file(database_url), dest / SQLITE_COPY)
                what = SQLITE_COPY
            else:
                _run(["pg_dump", "--format=custom", f"--file={dest / PG_DUMP}"], database_url)
                what = PG_DUMP
            copied = 0 if files_url else _copy_files(files_dir, dest / FILES)
        except BaseException:
            # a half-made backup must not pass for one, nor keep the folder from a second try
            shutil.rmtree(dest, ignore_errors=True)
            raise
        manifest = {
            "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": what,
            "files": files_url or copied,
        }
        (dest / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _owner_only(dest)
    if files_url:
        return (
            f"Đã sao lưu vào {dest}: cơ sở dữ liệu ({what}). Tệp đính kèm nằm ở kho {files_url} "
            "và không chép vào đây: giữ kho bằng cách của nhà cung cấp (bật versioning, hoặc "
            f"chép định kỳ: aws s3 sync {files_url} /nơi/khác)."
        )
    return f"Đã sao lưu vào {dest}: cơ sở dữ liệu ({what}) và {copied} tệp đính kèm."


@contextmanager
def _private() -> Iterator[None]:
    """What is made meanwhile, here and by pg_dump, is the owner's alone (0700 and 0600):
    a backup holds every member's name and phone, whatever the operator's umask."""
    before = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(before)


def _owner_only(folder: Path) -> None:
    """Copies keep their source's mode: narrow them too."""
    folder.chmod(0o700)
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


def restore(database_url: str, files_dir: Path, src: Path, files_url: str | None = None) -> str:
    """From a folder `backup` made, into a database that is new or empty (stop the bot
    first and point --db at a new place: nothing is overwritten)."""
    if not (src / MANIFEST).is_file():
        raise ConfigError(f"“{src}” không phải thư mục do `sangkien db backup` tạo")
    if is_sqlite(database_url):
        target = _sqlite_file(database_url)
        if target.exists() and target.stat().st_size > 0:
            raise ConfigError(
                f"đã có tệp cơ sở dữ liệu “{target}”: khôi phục vào một tệp mới (--db)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(src / SQLITE_COPY, target)
        _check_integrity(target)
    else:
        _refuse_unless_empty(database_url)
        _run(["pg_restore", "--no-owner", "--exit-on-error", str(src / PG_DUMP)], database_url)
    if files_url:
        kept = f" Tệp đính kèm: kho {files_url} giữ nguyên"
        if (src / FILES).is_dir():
            kept += f"; đưa các tệp của bản sao lên kho: aws s3 sync {src / FILES} {files_url}"
        return f"Đã khôi phục cơ sở dữ liệu từ {src}.{kept}."
    copied = _copy_files(src / FILES, files_dir)
    return f"Đã khôi phục từ {src}: cơ sở dữ liệu và {copied} tệp đính kèm vào {files_dir}."


def _sqlite_file(database_url: str) -> Path:
    database = sqlite_file(database_url)
    if database is None:
        raise ConfigError("cơ sở dữ liệu SQLite phải là một tệp để sao lưu")
    return database


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise ConfigError(f"không có tệp cơ sở dữ liệu “{source}”")
    with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as copy:
        reading.execute("PRAGMA busy_timeout=10000")
        reading.backup(copy)  # every page in one step: one snapshot, writers go on


def _check_integrity(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise ConfigError(f"bản sao “{path}” bị hỏng: {verdict}")


def _copy_files(source: Path, target: Path) -> int:
    """Attachments are named by their SHA-256: one already at the target is the same file."""
    copied = 0
    if not source.is_dir():
        return 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or relative.parts[0] == EXPORTS:
            continue
        destination = target / relative
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        copied += 1
    return copied


def _refuse_unless_empty(database_url: str) -> None:
    """Restoring over tables would mix two records (pg_restore stops at the first clash)."""

    async def tables() -> int:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                found = await connection.scalar(
                    text(
                        "SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = current_schema()"
                    )
                )
        finally:
            await engine.dispose()
        return int(found or 0)

    if asyncio.run(tables()):
        raise ConfigError(
            "cơ sở dữ liệu đích đã có dữ liệu: khôi phục vào một cơ sở dữ liệu mới (createdb)"
        )


def _libpq(database_url: str) -> tuple[list[str], dict[str, str]]:
    """How pg_dump and pg_restore reach the database: `-d` with the URL without its password
    (a command line is visible to everyone in `ps`), and the password in PGPASSWORD."""
    given = make_url(database_url)
    environment = dict(os.environ)
    if given.password is not None:
        environment["PGPASSWORD"] = str(given.password)
    url = URL.create(
        "postgresql", given.username, None, given.host, given.port, given.database, given.query
    )
    return ["-d", url.render_as_string(hide_password=False)], environment


def _run(command: list[str], database_url: str) -> None:
    target, environment = _libpq(database_url)
    try:
        done = subprocess.run(
            [*command, *target], capture_output=True, text=True, check=False, env=environment
        )
    except FileNotFoundError:
        raise ConfigError(
            f"không tìm thấy chương trình {command[0]}: cài gói postgresql-client"
        ) from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["?"])[0]
        raise UnreachableError(f"{command[0]} không chạy được: {first}")
