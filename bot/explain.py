"""Known failures of the command line, each turned into one Vietnamese line for the operator
and an exit code (2: a setting to fix, 3: a service that cannot be reached)."""

from __future__ import annotations

import errno
import socket

from bot.errors import ConfigError, UnreachableError

DB = "địa chỉ cơ sở dữ liệu (--db hoặc SANGKIEN_DATABASE_URL)"
DB_FORMS = "sqlite+aiosqlite:///đường/dẫn.db hoặc postgresql+asyncpg://người_dùng@máy/tên_csdl"


def explain(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, the line) for a failure an operator can fix; None for a real bug."""
    if isinstance(exc, ConfigError):
        return 2, f"Lỗi cấu hình: {exc}"
    if isinstance(exc, UnreachableError):
        return 3, f"Lỗi kết nối: {exc}"
    for explained in (_settings(exc), _database(exc), _files(exc)):
        if explained is not None:
            return explained
    return None


def _settings(exc: BaseException) -> tuple[int, str] | None:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    problems = []
    for error in exc.errors():
        name = "SANGKIEN_" + "_".join(str(part) for part in error["loc"]).upper()
        bound = error.get("ctx", {})
        need = (
            f", cần từ {bound['ge']:g} trở lên"
            if "ge" in bound
            else f", cần lớn hơn {bound['gt']:g}"
            if "gt" in bound
            else ""
        )
        problems.append(f"{name} không hợp lệ (đang là “{error.get('input')}”{need})")
    return 2, "Lỗi cấu hình: " + "; ".join(problems)


# PostgreSQL's SQLSTATE codes for what a wrong URL meets first
NO_DATABASE, NO_ROLE, WRONG_PASSWORD = "3D000", "28000", "28P01"
SYNC_DRIVERS = frozenset({"psycopg", "psycopg2", "pg8000", "pysqlite2", "sqlite3"})


def _database(exc: BaseException) -> tuple[int, str] | None:
    from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError

    text = str(exc)
    state = _sqlstate(exc)
    if isinstance(exc, ArgumentError):
        return 2, f"Lỗi cấu hình: {DB} chưa đúng. Dùng {DB_FORMS}."
    if (isinstance(exc, InvalidRequestError) and "async driver" in text) or (
        isinstance(exc, ModuleNotFoundError) and exc.name in SYNC_DRIVERS
    ):
        return 2, f"Lỗi cấu hình: {DB} cần trình điều khiển bất đồng bộ: {DB_FORMS}."
    if state == NO_DATABASE:
        return 2, f"Lỗi cấu hình: cơ sở dữ liệu trong {DB} chưa có: tạo nó trước (createdb)."
    if state == WRONG_PASSWORD or "password authentication failed" in text:
        return 2, f"Lỗi cấu hình: PostgreSQL không nhận mật khẩu trong {DB}: kiểm tra mật khẩu."
    if state == NO_ROLE:
        return 2, (
            f"Lỗi cấu hình: PostgreSQL không có người dùng trong {DB} hoặc không cho người dùng "
            "đó kết nối: kiểm tra tên người dùng (createuser) và pg_hba.conf."
        )
    if isinstance(exc, DBAPIError) and "unable to open database file" in text:
        return 2, f"Lỗi cấu hình: không mở được tệp cơ sở dữ liệu: kiểm tra {DB} và quyền ghi."
    if isinstance(exc, socket.gaierror):
        return (
            3,
            f"Lỗi kết nối: không tìm thấy máy chủ cơ sở dữ liệu: kiểm tra tên máy trong {DB}.",
        )
    refused = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT)
    if isinstance(exc, (ConnectionError, TimeoutError)) or (
        isinstance(exc, OSError) and exc.errno in refused
    ):
        return 3, f"Lỗi kết nối: không kết nối được cơ sở dữ liệu: kiểm tra PostgreSQL và {DB}."
    return None


def _sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's code for the error, whether asyncpg's own or wrapped by SQLAlchemy."""
    for error in (exc, getattr(exc, "orig", None)):
        code = getattr(error, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def _files(exc: BaseException) -> tuple[int, str] | None:
    if isinstance(exc, FileNotFoundError):
        return 2, f"Lỗi cấu hình: không có thư mục hoặc tệp “{exc.filename}”."
    if isinstance(exc, PermissionError):
        return 2, f"Lỗi cấu hình: không có quyền ghi hoặc đọc “{exc.filename}”."
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.ENOSPC):
        return 2, f"Lỗi cấu hình: không ghi được “{exc.filename}” ({exc.strerror})."
    return None
