"""Hostile and odd input through every channel: answered in Vietnamese, nothing lost."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.channels.console import line_to_inbound
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_client import ZaloClient
from bot.clock import FixedClock
from bot.config import Settings
from bot.dialogs.engine import SLOW_DOWN
from bot.store.models import Conversation
from tests.conftest import running_app
from tests.fakechat import FakeChat
from tests.flow import fill_profile, login
from tests.telegram_harness import TelegramUser

CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "hostile.yaml").read_text("utf-8"))
TEXTS: list[str] = CORPUS["texts"] + ["x" * 10_000]
VIETNAMESE = set("ạảãàáâậầấẩẫăắằặẳẵđêềếểễệôồốổỗộơờớởỡợưừứửữựýỳỷỹỵíìỉĩịúùủũụóòỏõọéèẻẽẹ")


def vietnamese(text: str) -> bool:
    return any(ch in VIETNAMESE for ch in text.lower())


async def draft(app: App, channel: str, chat_id: str) -> dict:
    async with AsyncSession(app.db) as session:
        state = (
            await session.execute(
                select(Conversation.state).where(
                    Conversation.channel == channel, Conversation.chat_id == chat_id
                )
            )
        ).scalar_one()
    return state.get("draft") or {}


@pytest.mark.parametrize("step", ["birth_year", "unit", "title", "started_on", "attachments"])
async def test_corpus_at_each_kind_of_step(app: App, step: str) -> None:
    chat = FakeChat(app.engine, user_id=f"hostile-{step}")
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await chat.send("Nguyễn Văn Thử")
    answers = {
        "unit": ["1985", "Kỹ sư", "Công ty"],
        "title": ["1985", "Kỹ sư", "Công ty", "ha noi", "Cán bộ công đoàn"],
    }
    answers["started_on"] = [*answers["title"], "Sáng kiến thử nghiệm", "Giải pháp kỹ thuật"]
    answers["attachments"] = [
        *answers["started_on"],
        "01/10/2021",
        "01/11/2021",
        "Mô tả",
        "không",
        "không",
        "Giám đốc",
        "1/QĐ",
        "01/12/2021",
        "không",
    ]
    for answer in answers.get(step, []):
        await chat.send(answer)
    before = await draft(app, chat.channel, chat.user_id)
    for text in TEXTS:
        replies = await chat.deliver(chat._inbound(text=text))
        assert replies and all(vietnamese(r.text) for r in replies), (step, text, replies)
        assert "<script>" not in "".join(b.label for r in replies for b in r.buttons)
    after = await draft(app, chat.channel, chat.user_id)
    for key, value in before.items():
        if key not in ("step",):
            assert after.get(key) == value, (step, key)


async def test_corpus_through_telegram_is_escaped(app: App) -> None:
    user = TelegramUser(app.engine, user_id=4242)
    await user.send("/start")
    await user.press("Tôi đồng ý")
    await user.send("0901 234 567")
    for text in TEXTS:
        await user.send(text)
        assert "<script>" not in user.last.text and "<b>" not in user.last.text
        assert len(user.last.text) <= 4096


async def test_corpus_through_zalo(app: App) -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        sent.append(json.loads(request.content)["text"])
        return httpx.Response(200, json={"ok": True, "result": {"message_id": "m", "date": 1}})

    client = ZaloClient("1:t", transport=httpx.MockTransport(handler), backoff=0)
    channel = ZaloChannel(app.engine, client, 20 << 20, ("zdn.vn",))
    for index, text in enumerate(TEXTS):
        await channel.handle(
            {
                "event_name": "message.text.received",
                "message": {
                    "from": {"id": "z1"},
                    "chat": {"id": "z1", "chat_type": "PRIVATE"},
                    "message_id": f"h{index}",
                    "text": text,
                },
            }
        )
        assert sent and all(len(part) <= 2000 for part in sent) and vietnamese(sent[-1])


def test_console_translation_of_odd_lines(tmp_path: Path) -> None:
    for text in TEXTS:
        inbound = line_to_inbound(text, "u")
        assert not isinstance(inbound, str) and inbound.text == text
    assert "Không đọc được tệp" in str(line_to_inbound("/tep /no/such/file\x00", "u"))


async def test_flooding_gets_a_polite_answer(db_url: str, make_settings, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.app import build_app

    app = build_app(make_settings(db_url, rate_limit_per_minute=5), clock)
    chat = FakeChat(app.engine, user_id="flood")
    for _ in range(5):
        await chat.send("chào")
    assert chat.text != SLOW_DOWN
    await chat.send("chào")
    assert chat.text == SLOW_DOWN
    await app.close()


async def test_logs_carry_no_phone_numbers_or_message_texts(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    chat = FakeChat(app.engine, user_id="quiet")
    await login(chat, "0901 234 567")
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat, "Bí Mật Tên Riêng")
    logged = caplog.text
    for secret in ("0901234567", "912820510", "Bí Mật Tên Riêng", "Bệnh viện Đa khoa"):
        assert secret not in logged


async def test_webhooks_answer_bad_requests_with_4xx_never_500(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.server import build_web_app
    from tests.fake_telegram import FakeTelegram

    telegram = FakeTelegram()
    await telegram.start()
    settings = make_settings(
        db_url,
        telegram_token=telegram.token,
        telegram_api_base=telegram.base_url,
        telegram_webhook_secret="tg-secret",
        zalo_token="1:zalo",
        zalo_webhook_secret="zalo-secret",
        public_url="https://bot.example.vn",
        link_secret="s" * 32,
    )
    async with running_app(settings, clock) as app:
        client = TestClient(TestServer(build_web_app(app)))
        await client.start_server()
        try:
            deep = b"[" * 100_000 + b"]" * 100_000
            for path, header, secret in (
                ("/telegram/webhook", "X-Telegram-Bot-Api-Secret-Token", "tg-secret"),
                ("/zalo/webhook", "X-Bot-Api-Secret-Token", "zalo-secret"),
            ):
                for wrong in (b"sai", "bí-mật".encode(), b"\xff\xfe"):
                    status = await raw_post(client.port, path, header.encode(), wrong)
                    assert status in (401, 403), (path, wrong, status)
                answer = await client.post(path, data=deep, headers={header: secret})
                assert answer.status == 400, (path, answer.status)
            odd = await client.get("/files/" + "a" * 64 + ".xlsx?name=x&exp=²³&sig=0")
            assert odd.status == 403
        finally:
            await client.close()
            await telegram.stop()


async def raw_post(port: int | None, path: str, header: bytes, value: bytes) -> int:
    """A POST with header bytes no HTTP client library would send."""
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        b"POST "
        + path.encode()
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + header
        + b": "
        + value
        + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_a_thousand_silent_connections_leave_the_door_open(tmp_path: Path) -> None:
    """Slow clients that never finish a request: started, as under systemd, with a soft limit
    of 1,024 open files, `serve` still answers the next client, and closes the silent ones
    after SANGKIEN_HEADER_TIMEOUT_SECONDS."""
    import asyncio

    import aiohttp

    from tests.fake_zalo import FakeZalo
    from tests.processes import free_port, start_bot, stop_bot, wait_healthy

    zalo = FakeZalo()
    await zalo.start()
    port = free_port()
    process = await start_bot(
        ["serve", "--port", str(port)],
        tmp_path,
        open_files=1024,
        SANGKIEN_ZALO_TOKEN=zalo.token,
        SANGKIEN_ZALO_API_BASE=zalo.base_url,
        SANGKIEN_ZALO_WEBHOOK_SECRET="zalo-secret",
        SANGKIEN_HEADER_TIMEOUT_SECONDS="3",
    )
    silent: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, port)
            for index in range(1100):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if index % 2:  # half of them start a request and never finish its headers
                    writer.write(b"POST /zalo/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                silent.append((reader, writer))
            # a guard against hanging for good, not a timing assertion
            async with asyncio.timeout(20):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                    assert health.status == 200
            async with asyncio.timeout(30):
                closed = await asyncio.gather(*(reader.read() for reader, _ in silent))
            assert all(data == b"" or data.startswith(b"HTTP/1.1 4") for data in closed)
    finally:
        for _, writer in silent:
            writer.close()
        log = await stop_bot(process)
        await zalo.stop()
    assert "Traceback" not in log
