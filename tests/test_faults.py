"""Faults: the database going away for a while loses no draft and recovers by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import App, build_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.dialogs.engine import ANSWER_UNHEARD, BUSY, SAVED_UNHEARD
from bot.store.models import Submission
from tests.fakechat import FakeChat
from tests.flow import fill_initiative, fill_profile, login
from tests.tcpproxy import TcpProxy


@asynccontextmanager
async def behind_a_proxy(
    database_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> AsyncIterator[tuple[App, TcpProxy]]:
    """The app reaching PostgreSQL through a proxy the test can cut and restore."""
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = build_app(make_settings(proxied), clock)
    try:
        yield app, proxy
    finally:
        await app.close()
        await proxy.cut()


@pytest.mark.postgres
async def test_database_outage_keeps_the_draft(
    clean_postgres_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    async with behind_a_proxy(clean_postgres_url, make_settings, clock) as (app, proxy):
        chat = FakeChat(app.engine, user_id="outage-user")
        await login(chat)
        await chat.click("Nộp sáng kiến mới")
        await chat.send("Vũ Thị Lan")

        await proxy.cut()
        await chat.send("1987")
        assert chat.text == BUSY
        await chat.send("Kế toán")
        assert chat.text == BUSY

        await proxy.start()
        await chat.send("1987")
        assert "Chức vụ" in chat.text
        await chat.send("Kế toán")
        assert "Nơi công tác" in chat.text
        await chat.send("/menu")
        assert "Tiếp tục bản nháp" in chat.labels[0]


@pytest.mark.postgres
async def test_a_restarted_database_goes_unnoticed(
    clean_postgres_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    """Every pooled connection dies at once (the server restarted); nobody is told “bận”."""
    async with behind_a_proxy(clean_postgres_url, make_settings, clock) as (app, proxy):
        known = FakeChat(app.engine, user_id="before-restart")
        await login(known)

        await proxy.cut()
        await proxy.start()
        newcomer = FakeChat(app.engine, user_id="after-restart")
        await newcomer.send("chào")  # no cached state: straight to a transaction of its own
        assert "Tôi đồng ý" in newcomer.labels, newcomer.text
        await known.click("Nộp sáng kiến mới")
        assert "Dùng thông tin này" in known.labels or "Họ và tên" in known.text, known.text


@pytest.mark.postgres
async def test_an_answer_committed_as_the_connection_dropped_is_still_answered(
    clean_postgres_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    """The server commits, the connection drops before it can say so: the retry finds the
    update done and shows where the conversation stands, instead of staying silent."""
    async with behind_a_proxy(clean_postgres_url, make_settings, clock) as (app, proxy):
        newcomer = FakeChat(app.engine, user_id="commit-unheard-1")
        proxy.drop_after(b"COMMIT")
        await newcomer.send("chào")  # a transaction of its own
        assert newcomer.text.startswith(SAVED_UNHEARD), newcomer.text
        assert "Tôi đồng ý" in newcomer.labels

        writer = FakeChat(app.engine, user_id="commit-unheard-2")
        await login(writer)
        await writer.click("Nộp sáng kiến mới")
        proxy.drop_after(b"COMMIT")
        answered = len(writer.replies)
        await writer.send("Vũ Thị Lan")  # from the cached state, in a group commit
        assert len(writer.replies) == answered + 1
        assert writer.text.startswith(SAVED_UNHEARD), writer.text
        assert "Năm sinh" in writer.text
        await writer.send("1987")
        assert "Chức vụ" in writer.text  # the name was kept once, the form goes on


@pytest.mark.postgres
async def test_a_filing_committed_as_the_connection_dropped_still_shows_its_code(
    clean_postgres_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    """The lost reply's own words come back with the retry: the filing's code, or why an
    answer was refused."""
    async with behind_a_proxy(clean_postgres_url, make_settings, clock) as (app, proxy):
        chat = FakeChat(app.engine, user_id="filing-unheard")
        await login(chat)
        await chat.click("Nộp sáng kiến mới")
        await fill_profile(chat)
        await fill_initiative(chat)

        proxy.drop_after(b"COMMIT")
        await chat.click("Gửi sáng kiến")
        assert chat.text.startswith(SAVED_UNHEARD), chat.text
        assert "Mã hồ sơ: SK-" in chat.text, chat.text
        async with app.sessions() as session:
            codes = (await session.scalars(select(Submission.code))).all()
        assert len(codes) == 1 and codes[0] in chat.text

        await chat.click("Nộp sáng kiến mới")
        await chat.click("Dùng thông tin này")
        await chat.click("Cán bộ, viên chức, người lao động các đơn vị sự nghiệp")
        await chat.send("Số hóa kho lưu trữ")
        await chat.click("Giải pháp quản lý")
        proxy.drop_after(b"COMMIT")
        await chat.send("31/02/2021")  # refused, and the refusal is what was lost
        assert chat.text == f"{ANSWER_UNHEARD}\n\n" + (
            "Ngày 31/02/2021 không có trên lịch. Vui lòng kiểm tra lại ngày và tháng "
            "(ví dụ 01/09/2021)."
        )
        await chat.send("01/10/2021")
        assert "kết thúc" in chat.text.lower(), chat.text
        async with app.sessions() as session:
            filed = await session.scalar(select(func.count()).select_from(Submission))
        assert filed == 1


@pytest.mark.postgres
async def test_a_stalled_database_answers_busy_within_seconds_and_fails_the_health_check(
    clean_postgres_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from bot.server import build_web_app

    settings = make_settings  # the proxy's app gets a short timeout, as an operator may set

    def quick(url: str, **options: object) -> Settings:
        return settings(
            url, db_timeout_seconds=1.0, zalo_token="1:z", zalo_webhook_secret="z" * 8, **options
        )

    async with behind_a_proxy(clean_postgres_url, quick, clock) as (app, proxy):
        chat = FakeChat(app.engine, user_id="stall-user")
        await login(chat)
        client = TestClient(TestServer(build_web_app(app)))
        await client.start_server()
        try:
            proxy.freeze()  # connections stay open, nothing comes back
            # a guard against hanging for good, not a timing assertion
            await asyncio.wait_for(chat.send("/menu"), 30)
            assert chat.text == BUSY
            health = await asyncio.wait_for(client.get("/healthz"), 30)
            assert health.status == 503
            proxy.thaw()
        finally:
            proxy.thaw()
            await client.close()
