"""Bulk-load synthetic submissions straight into a migrated database (not through the bot)."""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
from sqlalchemy.engine import make_url

from rules.campaigns import TZ, Campaign
from rules.similar import fingerprint
from rules.units import CatalogVersion

DESCRIPTION = "Mô tả ngắn"
_VOCABULARY = (
    "cải tiến quy trình sản xuất giảm chi phí nâng cao năng suất lao động an toàn công nhân "
    "máy móc thiết bị tiết kiệm điện nước vật tư nguyên liệu chất lượng sản phẩm kiểm tra "
    "giám sát số hóa hồ sơ tài liệu phần mềm quản lý kho bãi vận chuyển bảo dưỡng sửa chữa "
    "thay thế linh kiện nhập khẩu trong nước hiệu quả kinh tế xã hội môi trường xử lý chất thải "
    "tái chế phân loại rác đào tạo hướng dẫn người mới ca kíp tổ đội phân xưởng nhà máy bệnh "
    "viện trường học giáo viên học sinh bệnh nhân bác sĩ điều dưỡng thủ tục hành chính một cửa "
    "điện tử trực tuyến thanh toán hóa đơn chứng từ kế toán ngân sách dự toán"
)
SYLLABLES = _VOCABULARY.split(" ")


def random_description(rng: random.Random, chars: int) -> str:
    """Words of initiatives in random order, about `chars` long, standing in for a real
    description (the campaigns allow up to 2,000 characters)."""
    words: list[str] = []
    length = 0
    while length < chars:
        words.append(rng.choice(SYLLABLES))
        length += len(words[-1]) + 1
    return " ".join(words).capitalize() + "."


STATUSES = (
    ["submitted"] * 5
    + ["under_review"] * 2
    + ["accepted"] * 8
    + ["rejected"] * 3
    + ["needs_info", "withdrawn"]
)
COLUMNS = (
    "id",
    "code",
    "draft_id",
    "person_id",
    "channel",
    "campaign",
    "phase",
    "catalog",
    "unit_code",
    "target_group",
    "solution_type",
    "title",
    "started_on",
    "ended_on",
    "description",
    "benefit_vnd",
    "benefit_social",
    "recognized_by",
    "recognition_doc",
    "recognized_on",
    "awards",
    "declared_no_ip",
    "declared_public_order",
    "author_name",
    "author_birth_year",
    "author_position",
    "author_workplace",
    "status",
    "status_note",
    "similar_to",
    "fingerprint",
    "submitted_at",
    "updated_at",
)


def rows(
    campaign: Campaign, catalog: CatalogVersion, count: int, people: int, seed: int = 7
) -> Iterator[tuple[object, ...]]:
    rng = random.Random(seed)
    units = list(catalog.units)
    weights = [3 if catalog.units[u].depth == 0 else 1 for u in units]
    groups = [g.code for g in campaign.target_groups]
    kinds = [k.code for k in campaign.solution_types]
    start = datetime(2022, 1, 8, 7, tzinfo=TZ)
    span = (datetime(2023, 9, 1, tzinfo=TZ) - start).total_seconds()
    day = date(2022, 1, 1)
    for index in range(1, count + 1):
        at = start + timedelta(seconds=rng.random() * span)
        phase = "gd1" if at < datetime(2022, 6, 1, tzinfo=TZ) else "gd2"
        title = f"Sáng kiến số {index}"
        yield (
            index,
            f"SK-{at.year}-{index:06d}",
            str(uuid.UUID(int=index)),
            rng.randrange(1, people + 1),
            "telegram",
            campaign.code,
            phase,
            catalog.code,
            rng.choices(units, weights)[0],
            rng.choice(groups),
            rng.choice(kinds),
            title,
            day,
            day,
            DESCRIPTION,
            None,
            "Lợi ích",
            "Giám đốc",
            "1/QĐ",
            day,
            None,
            True,
            True,
            "Tác Giả",
            1980,
            "Kỹ sư",
            "Công ty",
            rng.choice(STATUSES),
            None,
            None,
            fingerprint(title, DESCRIPTION),
            at,
            None,
        )


def _people(count: int) -> Iterator[tuple[object, ...]]:
    now = datetime(2022, 1, 1, tzinfo=TZ)
    for index in range(1, count + 1):
        yield (index, f"+8490{index:07d}", now, now)


def _sqlite(value: object) -> object:
    """Values as SQLAlchemy stores them on SQLite: naive UTC text for instants."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def seed_sqlite(
    url: str, campaign: Campaign, catalog: CatalogVersion, count: int, people: int
) -> float:
    began = time.perf_counter()
    conn = sqlite3.connect(make_url(url).database or "")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.executemany(
        "INSERT INTO person (id, phone, created_at, updated_at) VALUES (?,?,?,?)",
        (tuple(_sqlite(v) for v in row) for row in _people(people)),
    )
    marks = ",".join("?" * len(COLUMNS))
    conn.executemany(
        f"INSERT INTO submission ({','.join(COLUMNS)}) VALUES ({marks})",
        (tuple(_sqlite(v) for v in row) for row in rows(campaign, catalog, count, people)),
    )
    conn.commit()
    conn.close()
    return time.perf_counter() - began


async def seed_postgres(
    url: str, campaign: Campaign, catalog: CatalogVersion, count: int, people: int
) -> float:
    began = time.perf_counter()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "person",
            records=list(_people(people)),
            columns=["id", "phone", "created_at", "updated_at"],
        )
        batch: list[tuple[object, ...]] = []
        for row in rows(campaign, catalog, count, people):
            batch.append(row)
            if len(batch) == 100_000:
                await conn.copy_records_to_table("submission", records=batch, columns=COLUMNS)
                batch = []
        if batch:
            await conn.copy_records_to_table("submission", records=batch, columns=COLUMNS)
        await conn.execute("SELECT setval('person_id_seq', (SELECT max(id) FROM person))")
        await conn.execute("SELECT setval('submission_id_seq', (SELECT max(id) FROM submission))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - began
