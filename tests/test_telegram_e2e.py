"""The real bot process against the fake Telegram Bot API server, in polling and webhook mode."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiohttp

from tests.fake_telegram import FakePerson, FakeTelegram
from tests.flow import DESCRIPTION, PDF_BYTES
from tests.processes import free_port, start_bot, stop_bot, wait_healthy

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
SECRET = "s3cret-Token_for-tests"


async def start_telegram_bot(
    args: list[str], server: FakeTelegram, tmp_path: Path, **env: str
) -> asyncio.subprocess.Process:
    return await start_bot(
        args,
        tmp_path,
        SANGKIEN_TELEGRAM_TOKEN=server.token,
        SANGKIEN_TELEGRAM_API_BASE=server.base_url,
        SANGKIEN_TELEGRAM_POLLING_TIMEOUT="2",
        **env,
    )


async def full_submission(person: FakePerson, server: FakeTelegram) -> None:
    await person.say("/start")
    await person.press("Tôi đồng ý")
    await person.share_contact("+84901234567")
    await person.press("Nộp sáng kiến mới")
    for text in ["Nguyễn Văn Bình", "1984", "Tổ trưởng", "Công ty Điện lực", "bac giang"]:
        await person.say(text)
    await person.press("Chọn chính Bắc Giang")
    await person.press("Công nhân lao động")
    server.fail_next("sendMessage", 429, retry_after=1)
    server.fail_next("editMessageText", 502)
    await person.say("Cải tiến <quy trình> & kiểm tra")
    await person.press("Giải pháp kỹ thuật")
    for text in [
        "01/10/2021",
        "31/01/2022",
        DESCRIPTION,
        "75 triệu",
        "bỏ qua",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Giám đốc Công ty",
        "45/QĐ-CTĐL",
        "10/02/2022",
        "không",
    ]:
        await person.say(text)
    reply = await person.send_document(PDF_BYTES, "quyet-dinh.pdf", "application/pdf")
    assert "Đã nhận: quyet-dinh.pdf" in reply.text
    reply = await person.send_document(b"MZ\x90\x00 not a pdf", "tai-lieu.pdf", "application/pdf")
    assert "Loại tệp này không được nhận" in reply.text
    reply = await person.send_photo(JPEG_BYTES)
    assert "(2/10)" in reply.text
    await person.press("Xong")
    await person.press("Không")
    card = await person.press("Không")
    assert "Cải tiến &lt;quy trình&gt; &amp; kiểm tra" in card.text
    done = await person.press("Gửi sáng kiến")
    assert "SK-2022-000001" in done.text


def stored(tmp_path: Path) -> tuple[tuple[str, str, str], list[str]]:
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        row = conn.execute("select code, channel, title from submission").fetchone()
        mimes = sorted(m for (m,) in conn.execute("select mime from attachment"))
    return row, mimes


async def test_polling_mode_end_to_end(telegram: FakeTelegram, tmp_path: Path) -> None:
    process = await start_telegram_bot(["run", "telegram"], telegram, tmp_path)
    person = FakePerson(telegram, 42)
    try:
        await full_submission(person, telegram)
    finally:
        log = await stop_bot(process)
    assert stored(tmp_path) == (
        ("SK-2022-000001", "telegram", "Cải tiến <quy trình> & kiểm tra"),
        ["application/pdf", "image/jpeg"],
    )
    assert {"deleteWebhook", "setMyCommands", "getFile", "answerCallbackQuery"} <= set(
        telegram.calls
    )
    assert {c["command"] for c in telegram.commands} >= {
        "start",
        "menu",
        "huy",
        "tieptuc",
        "hotro",
    }
    # Long polling waits on the server: a handful of calls, not a busy loop.
    assert telegram.calls.count("getUpdates") < 120
    assert telegram.token not in log
    assert "sangkien run telegram: đang nhận tin từ Telegram (long polling)" in log


async def test_webhook_mode_end_to_end(telegram: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    process = await start_telegram_bot(
        ["serve", "--port", str(port)],
        telegram,
        tmp_path,
        SANGKIEN_TELEGRAM_WEBHOOK_URL=url,
        SANGKIEN_TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    person = FakePerson(telegram, 43)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, port)
            assert telegram.webhook_url == url and telegram.webhook_secret == SECRET
            forged = {
                "update_id": 999,
                "message": {
                    "message_id": 1,
                    "date": 1,
                    "chat": person.chat,
                    "from": person.user,
                    "text": "/start",
                },
            }
            for header in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=forged, headers=header) as response:
                    assert response.status == 401
            assert telegram.actions == []
            await full_submission(person, telegram)
            before = len(telegram.actions)
            last_update = max(u["update_id"] for u in telegram._updates)
            await telegram.redeliver(last_update)
            await asyncio.sleep(1.0)
            assert len(telegram.actions) == before  # the repeated update changed nothing
    finally:
        log = await stop_bot(process)
    assert f"sangkien serve: nghe trên 127.0.0.1:{port}" in log  # the operator sees it is up
    assert "Telegram (webhook đã đặt)" in log
    assert stored(tmp_path)[0][0] == "SK-2022-000001"
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        assert conn.execute("select count(*) from submission").fetchone() == (1,)


async def test_a_failed_download_is_answered_and_logs_no_token(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    process = await start_telegram_bot(
        ["run", "telegram"], telegram, tmp_path, SANGKIEN_LOG_LEVEL="DEBUG"
    )
    try:
        for chat, status in ((43, 404), (44, 502)):  # gone, and a server's error
            telegram.file_status = status
            person = FakePerson(telegram, chat)
            await person.say("/start")
            reply = await person.send_document(PDF_BYTES, "quyet-dinh.pdf", "application/pdf")
            assert "Chưa tải được tệp từ Telegram" in reply.text, status
            reply = await person.press("Tôi đồng ý")  # the chat goes on
            assert "số điện thoại" in reply.text
    finally:
        log = await stop_bot(process)
    assert log.count("telegram download failed: ClientResponseError") == 2
    assert telegram.token not in log and "/file/bot" not in log and "Traceback" not in log
