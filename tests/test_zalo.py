"""The Zalo adapter: update shapes in, numbered text out, photos, and the whole form."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import admin
from bot.app import App
from bot.channels.zalo import UNSUPPORTED, ZaloChannel, parse_update, render
from bot.channels.zalo_client import ZaloClient
from bot.clock import FixedClock
from bot.config import Settings
from bot.dialogs.types import Button, Expect, Reply
from bot.store.models import Attachment, Submission
from tests.conftest import running_app
from tests.flow import DESCRIPTION, claim_code_in

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x02" * 300
PHOTO_URL = "https://photo-stal-22.zdn.vn/no/jpg/5bff10c65d12874cde03/2aOb.jpg"


def wrapped(event: str, **message: Any) -> dict[str, Any]:
    return {"ok": True, "result": {"event_name": event, "message": message}}


def test_parse_documented_and_observed_shapes() -> None:
    chat = {"id": "704aebb9aff246ac1fe3", "chat_type": "PRIVATE"}
    sender = {"id": "704aebb9aff246ac1fe3", "is_bot": False, "display_name": "Khánh"}
    real_photo = {
        "ok": True,
        "error_code": 0,
        "result": {
            "event_name": "message.image.received",
            "message": {
                "chat": chat,
                "message_id": "2e4c923d75b4e1edb8a2",
                "date": 1788780810265,
                "message_type": "CHAT_PHOTO",
                "from": sender,
                "photo_url": PHOTO_URL,
                "caption": "photo with captions",
            },
        },
    }
    update = parse_update(real_photo)
    assert update is not None and update.photo_url == PHOTO_URL
    assert update.chat_id == update.user_id == "704aebb9aff246ac1fe3"
    flat = real_photo["result"] | {}
    flat["message"] = {**flat["message"], "photo": "https://x.zdn.vn/a.jpg"}
    del flat["message"]["photo_url"]
    assert parse_update(flat).photo_url == "https://x.zdn.vn/a.jpg"  # type: ignore[union-attr]
    assert parse_update({}) is None and parse_update([]) is None
    assert parse_update({"ok": True, "result": {"event_name": "x"}}) is None


def test_numbered_rendering_and_yes_no() -> None:
    reply = Reply(
        "Chọn đơn vị",
        (Button(1, "Hà Nội", "t1"), Button(2, "Bắc Giang", "t2"), Button(3, "↩ Quay lại", "t3")),
        Expect.CHOICE,
    )
    [text] = render(reply)
    assert text.endswith(
        "1. Hà Nội\n2. Bắc Giang\n3. ↩ Quay lại\nTrả lời 1, 2 hoặc 3 hoặc gõ tên mục."
    )
    yes_no = Reply(
        "Đồng ý?",
        (Button(1, "Tôi đồng ý", "a"), Button(2, "Không đồng ý", "b")),
        Expect.CHOICE,
        yes_no=True,
    )
    assert "Trả lời CÓ hoặc KHÔNG" in render(yes_no)[0]
    long = render(Reply("đoạn văn. " * 500))
    assert len(long) == 3 and all(len(part) <= 2000 for part in long)
    assert (
        "ảnh chụp tài liệu hoặc đường dẫn Google Drive"
        in render(Reply("Gửi tài liệu", (), Expect.FILE))[0]
    )


class ZaloRecorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.photos: list[dict[str, Any]] = []

    cdn = JPEG

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith("zdn.vn"):
            return httpx.Response(200, content=self.cdn)
        body = json.loads(request.content or b"{}")
        if request.url.path.endswith("/sendMessage"):
            self.sent.append(body)
        if request.url.path.endswith("/sendPhoto"):
            self.photos.append(body)
        return httpx.Response(200, json={"ok": True, "result": {"message_id": "m", "date": 1}})

    @property
    def last(self) -> str:
        return str(self.sent[-1]["text"])


class ZaloPerson:
    def __init__(self, app: App, user_id: str = "6ede9afa66b88fe6d6a9") -> None:
        self.recorder = ZaloRecorder()
        client = ZaloClient("1:tok", transport=httpx.MockTransport(self.recorder), backoff=0)
        self.channel = ZaloChannel(app.engine, client, 20 << 20, ("zdn.vn",))
        self.user_id = user_id
        self.count = 0

    def _message(self, **fields: Any) -> dict[str, Any]:
        self.count += 1
        return {
            "from": {"id": self.user_id, "display_name": "Ted", "is_bot": False},
            "chat": {"id": self.user_id, "chat_type": "PRIVATE"},
            "message_id": f"msg{self.count}",
            "date": 1750316131602,
            **fields,
        }

    async def say(self, text: str) -> str:
        await self.channel.handle(wrapped("message.text.received", **self._message(text=text)))
        return self.recorder.last

    async def photo(self, url: str = PHOTO_URL) -> str:
        body = {
            "event_name": "message.image.received",  # the flat shape
            "message": self._message(photo_url=url, message_type="CHAT_PHOTO"),
        }
        await self.channel.handle(body)
        return self.recorder.last


async def test_full_submission_on_zalo_with_photo_and_drive_link(app: App) -> None:
    person = ZaloPerson(app)
    reply = await person.say("Xin chào")
    assert "Trả lời CÓ hoặc KHÔNG" in reply
    assert "Đăng nhập" not in reply
    assert "Vui lòng gửi số điện thoại" in await person.say("có")
    assert "Đăng nhập thành công" in await person.say("0901 234 567")
    await person.say("1")
    for text in ["Đinh Thị Mai", "1990", "Giáo viên", "Trường THCS A"]:
        await person.say(text)
    await person.say("bac giang")
    await person.say("chon chinh bac giang")
    await person.say("can bo cong doan")
    await person.say("Đổi mới sinh hoạt tổ công đoàn")
    await person.say("5")
    for text in [
        "01/10/2021",
        "01/02/2022",
        DESCRIPTION,
        "không",
        "Tăng số đoàn viên tham gia",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Ban Thường vụ LĐLĐ",
        "9/QĐ-LĐLĐ",
        "10/02/2022",
        "không",
    ]:
        await person.say(text)
    assert "ảnh chụp tài liệu hoặc đường dẫn Google Drive" in person.recorder.last
    assert "Đã nhận: 2aOb.jpg" in await person.photo()
    assert "Đã nhận" in await person.say(
        "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOpQ"
    )
    await person.say("xong")
    await person.say("KHÔNG")
    card = await person.say("khong")
    assert "TÓM TẮT SÁNG KIẾN" in card
    assert "SK-2022-000001" in await person.say("gửi sáng kiến")
    async with AsyncSession(app.db) as session:
        submission = (await session.execute(select(Submission))).scalar_one()
        kinds = sorted((await session.execute(select(Attachment.kind))).scalars())
    assert submission.channel == "zalo" and submission.solution_type == "cong_doan"
    assert kinds == ["file", "link"]


async def test_unsupported_sticker_group_and_repeats(app: App) -> None:
    person = ZaloPerson(app)
    await person.channel.handle(wrapped("message.unsupported.received", **person._message()))
    assert person.recorder.last == UNSUPPORTED
    await person.channel.handle(
        wrapped("message.sticker.received", **person._message(sticker="0e078a2fb66a5f34067b"))
    )
    assert person.recorder.last == UNSUPPORTED
    sent = len(person.recorder.sent)
    group = person._message(text="xin chào")
    group["chat"] = {"id": "group-1", "chat_type": "GROUP"}
    await person.channel.handle(wrapped("message.text.received", **group))
    assert len(person.recorder.sent) == sent  # groups are ignored
    same = wrapped("message.text.received", **person._message(text="chào"))
    await person.channel.handle(same)
    await person.channel.handle(same)
    assert len(person.recorder.sent) == sent + 1


async def test_photo_from_another_host_is_not_fetched(app: App) -> None:
    person = ZaloPerson(app)
    reply = await person.photo("https://attacker.example/evil.jpg")
    assert "Chưa tải được ảnh" in reply


async def test_a_photo_that_is_not_an_image_is_refused(app: App) -> None:
    person = ZaloPerson(app)
    exe = b"MZ\x90\x00\x03\x00 not a picture"
    person.recorder.cdn = exe
    for text in [
        "chào",
        "có",
        "0901 234 567",
        "1",
        "Lê Văn Ba",
        "1980",
        "Thợ máy",
        "Xưởng",
        "ha noi",
        "cong nhan lao dong trong cac doanh nghiep san xuat, kinh doanh",
        "Giải pháp giảm tiếng ồn",
        "1",
        "01/10/2021",
        "01/11/2021",
        "Mô tả",
        "không",
        "Giảm tiếng ồn",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Quản đốc",
        "2/QĐ",
        "05/11/2021",
        "không",
    ]:
        await person.say(text)
    assert "ảnh chụp tài liệu" in person.recorder.last
    assert "Loại tệp này không được nhận" in await person.photo()


async def officer_on_zalo(app: App, clock: FixedClock) -> ZaloPerson:
    person = ZaloPerson(app, user_id="zalo-officer")
    for text in ("chào", "có", "0987 000 111"):
        await person.say(text)
    issued = await admin.grant(app, clock, "officer", "t24", None)
    assert "Bạn đã nhận quyền" in await person.say(f"/nhanquyen {claim_code_in(issued)}")
    return person


async def test_zalo_officers_get_the_chart_as_a_photo_and_files_as_links(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock
) -> None:
    settings = make_settings(db_url, public_url="https://bot.example.vn", link_secret="s" * 32)
    async with running_app(settings, clock) as app:
        person = await officer_on_zalo(app, clock)
        await person.say("/bieudo")
        [photo] = person.recorder.photos
        assert photo["photo"].startswith("https://bot.example.vn/files/")
        text = await person.say("/xuat tất cả")
        assert "📎 tong-hop-sang-kien.xlsx: https://bot.example.vn/files/" in text


async def test_zalo_officers_are_told_what_the_operator_must_set(
    app: App, clock: FixedClock
) -> None:
    person = await officer_on_zalo(app, clock)
    text = await person.say("/bieudo")
    assert "chưa có địa chỉ công khai" in text and "SANGKIEN_PUBLIC_URL" in text
    assert person.recorder.photos == []
