"""The real bot process against the fake Zalo Bot API server, by polling and by webhook."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.fake_zalo import FakeZalo, FakeZaloPerson
from tests.flow import DESCRIPTION
from tests.processes import free_port, start_bot, stop_bot, wait_healthy

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x03" * 500
SECRET = "zalo-webhook-secret-123"


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


async def start_zalo_bot(
    args: list[str], server: FakeZalo, tmp_path: Path, **env: str
) -> asyncio.subprocess.Process:
    return await start_bot(
        args,
        tmp_path,
        SANGKIEN_ZALO_TOKEN=server.token,
        SANGKIEN_ZALO_API_BASE=server.base_url,
        SANGKIEN_ZALO_MEDIA_HOSTS="127.0.0.1",
        **env,
    )


async def full_submission(person: FakeZaloPerson, server: FakeZalo) -> None:
    assert "Trả lời CÓ hoặc KHÔNG" in await person.say("Xin chào")
    await person.say("CÓ")
    assert "Đăng nhập thành công" in await person.say("0901.234.567")
    await person.say("Nộp sáng kiến mới")
    for text in ["Phan Văn Đức", "1975", "Trưởng ca", "Nhà máy nhiệt điện", "thai binh", "1"]:
        await person.say(text)
    await person.say("2")
    server.fail_next("sendMessage", 429)
    server.fail_next("sendMessage", 502)
    await person.say("Cải tiến vòi phun giảm tiêu hao than")
    await person.say("1")
    for text in [
        "01/10/2021",
        "28/02/2022",
        DESCRIPTION,
        "1,2 tỷ",
        "không",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Giám đốc Nhà máy",
        "12/QĐ-NM",
        "20/02/2022",
        "không",
    ]:
        await person.say(text)
    assert "Đã nhận: p1.jpg" in await person.photo(JPEG)
    assert "Đã nhận" in await person.say(
        "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUv/view"
    )
    await person.say("xong")
    await person.say("không")
    assert "TÓM TẮT SÁNG KIẾN" in await person.say("không")
    assert "SK-2022-000001" in await person.say("1")


def stored(tmp_path: Path) -> tuple[tuple[str, str, int], list[str]]:
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        row = conn.execute("select code, channel, benefit_vnd from submission").fetchone()
        kinds = sorted(k for (k,) in conn.execute("select kind from attachment"))
    return row, kinds


async def test_polling_mode_end_to_end(zalo: FakeZalo, tmp_path: Path) -> None:
    process = await start_zalo_bot(["run", "zalo"], zalo, tmp_path)
    person = FakeZaloPerson(zalo, "704aebb9aff246ac1fe3")
    try:
        # A photo URL httpx cannot even parse (a port out of range): the person is told,
        # and the poll goes on with the next update.
        broken = person.update(
            "message.image.received",
            photo_url="http://127.0.0.1:99999/p.jpg",
            message_type="CHAT_PHOTO",
        )
        assert "Chưa tải được ảnh" in await person.send(broken)
        await full_submission(person, zalo)
        repeated = person.update("message.text.received", text="/menu")
        await person.send(repeated)
        before = len(zalo.sent)
        await zalo.push(repeated)  # Zalo replays: same message_id again
        await asyncio.sleep(1.5)
        assert len(zalo.sent) == before
    finally:
        log = await stop_bot(process)
    assert stored(tmp_path) == (("SK-2022-000001", "zalo", 1_200_000_000), ["file", "link"])
    assert "deleteWebhook" in zalo.calls
    assert zalo.token not in log
    assert "sangkien run zalo: đang nhận tin từ Zalo (long polling)" in log


async def test_webhook_mode_end_to_end(zalo: FakeZalo, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/zalo/webhook"
    zalo.flat_webhook_bodies = True
    process = await start_zalo_bot(
        ["serve", "--port", str(port)],
        zalo,
        tmp_path,
        SANGKIEN_ZALO_WEBHOOK_URL=url,
        SANGKIEN_ZALO_WEBHOOK_SECRET=SECRET,
    )
    person = FakeZaloPerson(zalo, "6ede9afa66b88fe6d6a9")
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, port)
            for _ in range(100):
                if zalo.webhook_url:
                    break
                await asyncio.sleep(0.05)
            assert zalo.webhook_url == url and zalo.webhook_secret == SECRET
            body = person.update("message.text.received", text="xin chào")
            for headers in ({}, {"X-Bot-Api-Secret-Token": "wrong-secret"}):
                async with http.post(url, json=body, headers=headers) as response:
                    assert response.status == 403
            async with http.post(
                url, data=b"", headers={"X-Bot-Api-Secret-Token": SECRET}
            ) as response:
                assert response.status == 200  # Zalo's empty probes
            assert zalo.sent == []
            await full_submission(person, zalo)
            repeated = person.update("message.text.received", text="/menu")
            await person.send(repeated)
            before = len(zalo.sent)
            async with http.post(
                url, json=repeated, headers={"X-Bot-Api-Secret-Token": SECRET}
            ) as response:
                assert response.status == 200
            assert len(zalo.sent) == before
    finally:
        await stop_bot(process)
    assert stored(tmp_path)[0] == ("SK-2022-000001", "zalo", 1_200_000_000)
