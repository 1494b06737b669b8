"""The monthly report: an officer who asked for it gets last month's figures and table in the
chat on the campaign's day, once, never at night; one who did not ask, or stopped, gets none;
`sangkien check` names a report day that is not one."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime
from typing import Any

import openpyxl
import pytest

from bot.app import App
from bot.clock import FixedClock
from bot.reach.monthly import send_monthly_reports
from rules.campaigns import TZ, reminder_problems
from tests.fake_telegram import FakeTelegram
from tests.fakechat import FakeChat
from tests.flow import deliver_on_telegram, grant_role, login, submit_new


def _at(*moment: int) -> datetime:
    return datetime(*moment, tzinfo=TZ)  # type: ignore[misc]


async def _officer(app: App, clock: FixedClock, user_id: str, unit: str = "t24") -> FakeChat:
    chat = FakeChat(app.engine, user_id=user_id, channel="telegram")
    await login(chat, f"0912 000 {user_id}")
    await grant_role(app, clock, chat, "officer", unit)
    return chat


async def test_an_officer_who_asked_gets_last_months_report_once(
    app: App, clock: FixedClock, telegram: FakeTelegram
) -> None:
    member = FakeChat(app.engine, user_id="600", channel="telegram")
    await login(member, "0912 000 600")
    await member.send("/baocaothang bật")
    assert "dành cho cán bộ công đoàn được phân quyền" in member.text
    await submit_new(member, "Máy cắt ống tự động")  # in Bắc Giang, in March 2022

    asked = await _officer(app, clock, "500")
    await asked.send("/baocaothang")
    assert "Bạn chưa nhận báo cáo tháng. Ngày 1 hằng tháng" in asked.text
    await asked.send("/baocaothang bật")
    assert "Đã đăng ký báo cáo tháng." in asked.text
    assert "số liệu tháng trước của Liên đoàn Lao động tỉnh Bắc Giang" in asked.text
    await asked.send("/baocaothang")
    assert "Bạn đang nhận báo cáo tháng." in asked.text
    await _officer(app, clock, "501")  # never asked
    stopped = await _officer(app, clock, "502")
    await stopped.send("/baocaothang bật")
    await stopped.send("/baocaothang tắt")
    assert "Đã thôi nhận báo cáo tháng." in stopped.text

    services = app.engine.services
    assert await send_monthly_reports(app.sessions, services, _at(2022, 3, 31, 10)) == 0
    assert await send_monthly_reports(app.sessions, services, _at(2022, 4, 1, 6, 30)) == 0
    assert await send_monthly_reports(app.sessions, services, _at(2022, 4, 1, 8)) == 1
    assert await send_monthly_reports(app.sessions, services, _at(2022, 4, 2, 8)) == 0  # once
    await deliver_on_telegram(app, telegram)

    to_officer = [
        a for a in telegram.actions if a.chat_id == 500 and a.method != "editMessageText"
    ]
    said = "\n".join(a.text for a in to_officer[-2:])
    assert "Báo cáo tháng 03/2022" in said and "Tổng số sáng kiến: 1" in said, said
    assert "/baocaothang tắt" in said
    [sent] = [a for a in to_officer if a.method == "sendDocument"]
    assert sent.file_name == "bao-cao-thang-03-2022.xlsx"
    cells = _cells(telegram.uploaded("bao-cao-thang-03-2022.xlsx"))
    assert "Máy cắt ống tự động" in cells
    assert not [c for c in cells if "0912" in c]  # no phone numbers in a file that waits
    assert {a.chat_id for a in telegram.actions if a.method == "sendDocument"} == {500}

    # the next month's report comes in May; a stopped bot catches up within three days
    assert await send_monthly_reports(app.sessions, services, _at(2022, 5, 4, 9)) == 0
    assert await send_monthly_reports(app.sessions, services, _at(2022, 5, 3, 9)) == 1


async def test_a_campaign_without_the_monthly_report_sends_none(
    app: App, clock: FixedClock
) -> None:
    services = app.engine.services
    services.campaign = replace(services.campaign, monthly_report_day=None)
    officer = await _officer(app, clock, "500")
    await officer.send("/baocaothang bật")
    assert "Chương trình này không gửi báo cáo tháng." in officer.text
    assert await send_monthly_reports(app.sessions, services, _at(2022, 4, 1, 8)) == 0


def _cells(xlsx: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    return [
        str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row if c
    ]


@pytest.mark.parametrize(
    ("reminders", "said"),
    [
        ({"drafts": "yes"}, "reminders.drafts cần true hoặc false"),
        ({"nudges": True}, "không có loại nhắc “nudges”"),
        ({"monthly_report": 31}, "reminders.monthly_report cần một ngày trong tháng (1 đến 28)"),
        ({"monthly_report": "5"}, "reminders.monthly_report cần một ngày trong tháng"),
        ({"monthly_report": 5, "drafts": False}, None),
        ({"monthly_report": False}, None),
    ],
)
def test_check_names_a_wrong_reminder(reminders: dict[str, Any], said: str | None) -> None:
    problems = reminder_problems(reminders, "sk2022")
    assert (said is None and not problems) or any(said and said in p for p in problems), problems
