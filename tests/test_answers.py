"""Every answer recorded as the person meant it, on every channel: a whole submission answered
by option numbers, by labels and by parts of labels, skips by their numbers, a pasted
description in three paragraphs and money written in a sentence; then the database is read."""

from __future__ import annotations

import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import select as sql_select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.store.models import Submission
from tests.telegram_harness import TelegramUser
from tests.test_zalo import ZaloPerson

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTION = (
    "Trước đây tổ may cắt cổ áo bằng tay, mỗi chiếc mất 4 phút.\n\n"
    "Giải pháp: làm khuôn cắt bằng thép lá, gắn lên bàn cắt, một lần cắt được 6 lớp vải.\n\n"
    "Kết quả: mỗi chiếc còn 40 giây, tỷ lệ hàng lỗi giảm một nửa."
)


@dataclass(frozen=True)
class Choose:
    """Pick the option with this label; `part` is words found in that label only."""

    label: str
    part: str | None = None


@dataclass(frozen=True)
class Say:
    text: str


WALK: list[Choose | Say] = [
    Say("chào"),
    Choose("Tôi đồng ý", "đồng ý"),
    Say("0901 234 567"),
    Choose("Nộp sáng kiến mới", "nộp"),
    Say("lê thị mai"),
    Say("sinh năm 1990"),
    Say("Công nhân"),
    Say("Công ty May Bắc Giang"),
    Say("bac giang"),
    Choose("✔ Chọn chính Bắc Giang"),  # typing at the unit step searches: no parts
    Choose("Cán bộ, viên chức, người lao động các đơn vị sự nghiệp", "đơn vị sự nghiệp"),
    Say("Cải tiến khuôn cắt cổ áo"),
    Choose("Giải pháp tác nghiệp", "tác nghiệp"),
    Say("1/10/21"),
    Say("28/2/2022"),
    Say(DESCRIPTION),
    Say("Tiết kiệm khoảng 120 triệu đồng mỗi năm"),
    Choose("Bỏ qua"),  # the social benefit, skipped
    Say("Áp dụng tại 2 tổ may,\nnhân rộng được toàn công ty"),  # phạm vi ứng dụng
    Say("Hội đồng sáng kiến Công ty May Bắc Giang"),
    Say("số 125/QĐ-CT"),
    Say("15/02/2022"),
    Choose("Bỏ qua"),  # the awards, skipped
    Choose("Xong"),  # no attachments
    Choose("Không"),  # not protected as intellectual property
    Choose("Không"),  # not against public order
    Choose("✅ Gửi sáng kiến", "gửi"),
]
STYLES = ["number", "label", "part"]


class Person(Protocol):
    async def say(self, text: str) -> str: ...

    def options(self) -> list[str]:
        """The options of the last screen, in the order of their numbers."""
        ...


def answer_for(step: Choose, style: str, options: list[str]) -> str:
    if style == "number" or (style == "part" and step.part is None and step.label == "Bỏ qua"):
        matches = [i for i, shown in enumerate(options, 1) if _same(shown, step.label)]
        assert len(matches) == 1, (step.label, options)
        return str(matches[0])
    if style == "part" and step.part is not None:
        return step.part
    return step.label.lower()  # as typed on a phone: no capitals


def _same(shown: str, label: str) -> bool:
    shown = re.sub(r"^\d+\. ", "", shown)
    return shown == label or (shown.endswith("…") and label.startswith(shown[:-1]))


async def walk(person: Person, style: str) -> str:
    screen = ""
    for step in WALK:
        text = step.text if isinstance(step, Say) else answer_for(step, style, person.options())
        screen = await person.say(text)
    return screen


def check_record(row: dict[str, Any]) -> None:
    assert row["author_name"] == "Lê Thị Mai" and row["author_birth_year"] == 1990
    assert row["unit_code"] == "t24"
    assert row["target_group"] == "vc_su_nghiep"
    assert row["solution_type"] == "tac_nghiep"
    assert str(row["started_on"]) == "2021-10-01" and str(row["ended_on"]) == "2022-02-28"
    assert row["description"] == DESCRIPTION  # three paragraphs, as pasted
    assert row["benefit_vnd"] == 120_000_000  # not 1 đồng, not refused
    assert row["benefit_social"] is None and row["awards"] is None
    assert row["applied_scope"] == "Áp dụng tại 2 tổ may,\nnhân rộng được toàn công ty"
    assert row["recognition_doc"] == "125/QĐ-CT"  # the card says "văn bản số 125/QĐ-CT"
    assert str(row["recognized_on"]) == "2022-02-15"
    assert row["declared_no_ip"] and row["declared_public_order"]


async def filed(app: App) -> dict[str, Any]:
    async with AsyncSession(app.db) as session:
        submission = (await session.execute(sql_select(Submission))).scalar_one()
    return {c.key: getattr(submission, c.key) for c in Submission.__table__.columns}


class OnTelegram:
    def __init__(self, app: App) -> None:
        self.user = TelegramUser(app.engine, user_id=4242)

    async def say(self, text: str) -> str:
        await self.user.send(text)
        return str(self.user.last.text)

    def options(self) -> list[str]:
        return self.user.labels()


class OnZalo:
    def __init__(self, app: App) -> None:
        self.person = ZaloPerson(app)
        self.screen = ""

    async def say(self, text: str) -> str:
        self.screen = await self.person.say(text)
        return self.screen

    def options(self) -> list[str]:
        return re.findall(r"^\d+\. (.+)$", self.screen, re.MULTILINE)


PEOPLE: dict[str, Callable[[App], Person]] = {"telegram": OnTelegram, "zalo": OnZalo}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("channel", sorted(PEOPLE))
async def test_a_whole_submission_answered_in_each_style(
    app: App, channel: str, style: str
) -> None:
    person = PEOPLE[channel](app)
    last = await walk(person, style)
    assert "Mã hồ sơ: SK-2022-000001" in last, last
    check_record(await filed(app))


class OnConsole:
    """The real `sangkien chat` on a terminal (a pseudo-terminal): typed lines, and the
    description pasted in one go, as from Word."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "console.db"
        main, child = pty.openpty()
        env = {**os.environ, "SANGKIEN_FILES_DIR": str(tmp_path / "files")}
        url = f"sqlite+aiosqlite:///{self.db}"
        self.log = (tmp_path / "console.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "chat", "--db", url, "--now", "2022-03-01T09:00"],
            stdin=child,
            stdout=child,
            stderr=self.log,
            cwd=ROOT,
            env=env,
        )
        os.close(child)
        self.main = main
        self.seen: list[str] = []
        self.screen = self._until_prompt()

    def _until_prompt(self, timeout: float = 30) -> str:
        output = b""
        deadline = time.monotonic() + timeout
        while not output.endswith(b"> ") and time.monotonic() < deadline:
            if select.select([self.main], [], [], 0.2)[0]:
                output += os.read(self.main, 65536)
        assert output.endswith(b"> "), output.decode(errors="replace")[-500:]
        self.seen.append(output.decode().replace("\r\n", "\n"))
        return self.seen[-1]

    async def say(self, text: str) -> str:
        os.write(self.main, (text + "\n").encode())
        self.screen = self._until_prompt()
        return self.screen

    def options(self) -> list[str]:
        return re.findall(r"^  \[\d+\] (.+)$", self.screen, re.MULTILINE)

    def close(self) -> None:
        os.write(self.main, b"/thoat\n")
        self.process.wait(timeout=30)
        os.close(self.main)
        self.log.close()


@pytest.mark.parametrize("style", STYLES)
async def test_a_whole_submission_on_the_console_terminal(tmp_path: Path, style: str) -> None:
    console = OnConsole(tmp_path)
    try:
        last = await walk(console, style)
    finally:
        console.close()
    assert "Mã hồ sơ: SK-2022-000001" in last, last
    assert [screen for screen in console.seen if "bấm" in screen.lower()] == []  # no buttons
    with sqlite3.connect(console.db) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("select * from submission").fetchone())
    check_record(row)
