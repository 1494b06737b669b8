"""What people read: plain questions, no internal names, no buttons where there are none, one
spelling, only the commands a person may use, and the console's small courtesies."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time
import unicodedata
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.console import line_to_inbound
from bot.clock import FixedClock
from rules.files import format_size
from tests.fakechat import FakeChat
from tests.flow import (
    PDF_BYTES,
    fill_profile,
    fill_until_attachments,
    grant_role,
    login,
    submit_new,
)
from tests.test_answers import ROOT, WALK, OnZalo, walk
from tests.test_support import outbox_texts

# Tone marks placed the old way on an open syllable (hoá, xoá, huỷ, Hoà): the guidance writes
# hóa, xóa, hủy, Hòa.
TONE = "[\u0301\u0300\u0309\u0303\u0323]"
END = "(?![\\w\u0300-\u036f])"  # nothing after it: no letter, no other mark (hoặc)
OLD_TONE = re.compile(f"[oO][aAeE]{TONE}{END}|(?<![qQ])[uU][yY]{TONE}{END}")


def old_style_words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFD", text)
    return [m.group(0) for m in OLD_TONE.finditer(decomposed)]


def test_one_spelling_in_the_bot_and_its_data() -> None:
    sources = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("rules/*.py")]
    sources += [ROOT / "campaigns.yaml", ROOT / "units.yaml"]
    found = {
        str(path.relative_to(ROOT)): words
        for path in sources
        if (words := old_style_words(path.read_text(encoding="utf-8")))
    }
    assert found == {}
    assert old_style_words("Hủy xóa hóa Hòa quý") == []
    assert old_style_words("Huỷ xoá hoá Hoà") != []  # the check itself can fail


async def test_no_buttons_to_press_on_zalo(app: App) -> None:
    person = OnZalo(app)
    screens = []
    original = person.say

    async def say(text: str) -> str:
        screens.append(await original(text))
        return screens[-1]

    person.say = say  # type: ignore[method-assign]
    await walk(person, "label")
    assert len(screens) == len(WALK)
    pressing = [s for s in screens if "bấm" in s.lower()]
    assert pressing == []


async def test_plain_declarations_and_the_card_says_what_was_meant(
    app: App, chat: FakeChat
) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await fill_until_attachments(chat)
    await chat.send("xong")
    assert chat.text.startswith("Sáng kiến có đang được bảo hộ quyền sở hữu trí tuệ")
    assert chat.labels[:2] == ["Không", "Có"]
    await chat.send("không")  # the worker's plain answer: not protected
    assert chat.text.startswith("Nội dung sáng kiến có trái với trật tự công cộng")
    await chat.send("không")
    assert "TÓM TẮT SÁNG KIẾN" in chat.text
    assert (
        "Tác giả cho biết: sáng kiến không đang được bảo hộ quyền sở hữu trí tuệ; nội dung không "
        "trái trật tự công cộng, đạo đức xã hội" in chat.text
    )
    assert "văn bản số 125/QĐ-BV" in chat.text


async def test_a_recognition_before_the_campaign_is_said_kept_on_purpose_and_flagged(
    app: App, chat: FakeChat, clock: FixedClock
) -> None:
    author = FakeChat(app.engine, user_id="author")
    await login(author, "0912 000 001")
    await author.click("Nộp sáng kiến mới")
    await fill_profile(author)
    await author.click("Cán bộ công đoàn")
    for answer in (
        "Sổ tay điện tử cho tổ công đoàn",
        "quản lý",
        "1/10/21",
        "1/2/22",
        "Mô tả sáng kiến sổ tay điện tử.",
        "không",
        "Nâng cao chất lượng sinh hoạt công đoàn",
        "Áp dụng tại đơn vị, có thể nhân rộng toàn ngành",
        "Ban Chấp hành Công đoàn cơ sở",
        "12/QĐ",
    ):
        await author.send(answer)
    await author.send("01/01/2015")
    assert "chỉ nhận sáng kiến được công nhận từ ngày 01/09/2021" in author.text
    assert "Danh hiệu" not in author.text  # still at the date
    await author.send("01/01/2015")  # the same date again: kept, on purpose
    assert "danh hiệu thi đua" in author.text
    await author.send("bỏ qua")
    await author.send("xong")
    await author.send("không")
    await author.send("không")
    assert "⚠️ Văn bản công nhận ngày 01/01/2015 trước ngày 01/09/2021" in author.text
    await author.click("Gửi sáng kiến")
    assert "Mã hồ sơ" in author.text

    officer = FakeChat(app.engine, user_id="officer")
    await login(officer, "0987 000 111")
    await grant_role(app, clock, officer, "officer", "*")
    await officer.send("/duyet")
    assert "⚠️ Văn bản công nhận ngày 01/01/2015 trước ngày 01/09/2021" in officer.text


async def test_target_groups_explained_and_typed_in_a_few_words(app: App, chat: FakeChat) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await chat.click("Giải thích các nhóm đối tượng")
    assert (
        "2. Công nhân lao động trong các doanh nghiệp sản xuất, kinh doanh: Bạn là công "
        "nhân" in chat.text
    )
    await chat.send("cán bộ")  # in three of the names: asked back, nothing chosen
    assert "“can bo” có trong nhiều mục" in chat.text and "1. Cán bộ công đoàn" in chat.text
    assert "Bạn chọn mục nào?" in chat.text
    await chat.send("Công nhân")
    assert "Tên sáng kiến" in chat.text


async def test_helpers_see_where_the_asker_is_in_words(app: App, clock: FixedClock) -> None:
    helper = FakeChat(app.engine, user_id="helper", channel="telegram")
    await login(helper, "0987 111 222")
    await grant_role(app, clock, helper, "helper", "t24")
    asker = FakeChat(app.engine, user_id="asker", channel="zalo")
    await login(asker)
    await asker.click("Nộp sáng kiến mới")
    await fill_profile(asker)
    await asker.click("Cán bộ công đoàn")
    await asker.send("Sổ tay điện tử")
    await asker.send("/hotro")
    await asker.click("Hỏi tư vấn viên")
    await asker.send("Loại giải pháp nào hợp với sáng kiến của tôi?")
    [notice] = await outbox_texts(app, "helper")
    assert "bản nháp “Sổ tay điện tử”, bước “Loại giải pháp”" in notice
    assert "solution_type" not in notice


async def test_unknown_commands_list_what_the_person_may_use(
    app: App, chat: FakeChat, clock: FixedClock
) -> None:
    await login(chat)
    await chat.send("/abc")
    assert "Không có lệnh /abc" in chat.text and "/cuatoi" in chat.text
    assert "/duyet" not in chat.text and "/tl" not in chat.text
    await grant_role(app, clock, chat, "officer", "t24")
    await chat.send("/abc")
    assert "/duyet" in chat.text and "/xuat" in chat.text and "/tl" not in chat.text


def test_console_reads_dropped_paths_and_shows_sizes(tmp_path: Path) -> None:
    folder = tmp_path / "Tài liệu của tôi"
    folder.mkdir()
    (folder / "quyết định.pdf").write_bytes(PDF_BYTES)
    for typed in (
        f'/tep "{folder}/quyết định.pdf"',
        f"/tep '{folder}/quyết định.pdf'",
        "/tep " + str(folder / "quyết định.pdf").replace(" ", "\\ "),
    ):
        inbound = line_to_inbound(typed, "me")
        assert not isinstance(inbound, str), typed
        assert inbound.file is not None and inbound.file.data == PDF_BYTES
    assert isinstance(line_to_inbound('/tep "nowhere.pdf', "me"), str)
    assert [format_size(n) for n in (48, 1024, 1500, 2_621_440)] == [
        "48 byte",
        "1 KB",
        "2 KB",
        "2,5 MB",
    ]


def own_the_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty on stdin, so
    that Ctrl-C there sends SIGINT, as in a real terminal; and SIGINT's default action, as a
    terminal's shell gives it (a suite started in the background by a script, `make test &`,
    ignores SIGINT, and an ignored signal stays ignored across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_the_console_edits_lines_and_ctrl_c_quits(tmp_path: Path) -> None:
    main, child = pty.openpty()
    url = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "chat", "--db", url],
            stdin=child,
            stdout=child,
            stderr=log,
            cwd=ROOT,
            env={**os.environ, "SANGKIEN_FILES_DIR": str(tmp_path / "files")},
            preexec_fn=own_the_terminal,
        )
        os.close(child)

        def screen() -> str:
            output = b""
            deadline = time.monotonic() + 30
            while not output.endswith(b"> ") and time.monotonic() < deadline:
                if select.select([main], [], [], 0.2)[0]:
                    output += os.read(main, 65536)
            return output.decode(errors="replace")

        try:
            screen()
            os.write(main, b"/abc\x1b[D\x1b[DX\r")  # two left arrows, then X: "/aXbc"
            assert "Không có lệnh /axbc" in screen()
            os.write(main, b"\x03")  # Ctrl-C, as the terminal sends it
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    os.close(main)
    assert code == 130
    assert "Traceback" not in (tmp_path / "log").read_text()


async def test_help_shows_a_worker_their_own_commands_and_their_data_rights(
    app: App, clock: FixedClock, chat: FakeChat
) -> None:
    await login(chat)
    assert "/dulieu" in chat.text and "/xoa" in chat.text  # the main menu
    await chat.send("/hotro")
    assert "/dulieu xem và sửa dữ liệu cá nhân" in chat.text and "/xoa rút đồng ý" in chat.text
    assert "/duyet" not in chat.text and "/ve" not in chat.text
    assert "/nhanquyen" in chat.text
    await grant_role(app, clock, chat, "officer", "*")
    assert "trên phạm vi toàn quốc" in chat.text and "tại toàn quốc" not in chat.text
    assert "/thongke" in chat.text and "/stats" not in chat.text
    await chat.send("/hotro")
    assert "Cán bộ: /duyet duyệt sáng kiến, /thongke số liệu" in chat.text
    assert "/ve" not in chat.text
    await chat.send("/thongke khối Không Có")
    assert "sangkien" not in chat.text and "chưa có cụm, khối thi đua nào" in chat.text


WORDY = [  # at which step, what a worker types, what the bot says back
    ("ended_on", "vẫn đang áp dụng", "hãy gửi ngày dự kiến kết thúc"),
    ("ended_on", "hiện nay", "hãy gửi ngày dự kiến kết thúc"),
    ("recognized_by", "chưa có", "chỉ nhận sáng kiến đã được cơ quan, đơn vị có thẩm quyền"),
    ("recognized_by", "Không", "chỉ nhận sáng kiến đã được cơ quan, đơn vị có thẩm quyền"),
]


@pytest.mark.parametrize(("step", "typed", "said"), WORDY)
async def test_words_where_a_date_or_a_body_is_asked(
    app: App, chat: FakeChat, step: str, typed: str, said: str
) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    await chat.click("Cán bộ, viên chức, người lao động các đơn vị sự nghiệp")
    await chat.send("Số hóa quy trình tiếp nhận hồ sơ")
    await chat.click("Giải pháp quản lý")
    await chat.send("01/10/2021")
    if step == "recognized_by":
        await chat.send("28/02/2022")
        await chat.send("Mô tả đủ dài về thực trạng và giải pháp mới của đơn vị.")
        await chat.send("150 triệu")
        await chat.send("Giảm thời gian chờ")
        await chat.send("Tại đơn vị")
    before = chat.text
    await chat.send(typed)
    assert said in chat.text, chat.text
    assert before.split("\n")[0] in chat.text or "Đang lưu" not in chat.text


async def test_the_groups_are_explained_in_the_campaigns_own_word(
    app: App, chat: FakeChat
) -> None:
    await login(chat)
    await chat.click("Nộp sáng kiến mới")
    await fill_profile(chat)
    assert "nhóm đối tượng nào?" in chat.text
    await chat.click("Giải thích các nhóm đối tượng")
    assert chat.text.startswith("Các nhóm đối tượng:")
    assert "Bạn thuộc nhóm đối tượng nào?" in chat.text


async def test_the_owner_and_the_officer_read_the_same_words_for_a_typed_number(
    app: App, clock: FixedClock, chat: FakeChat
) -> None:
    await login(chat)
    await submit_new(chat)
    await chat.send("/dulieu")
    assert "(tự khai, chưa xác minh)" in chat.text
    officer = FakeChat(app.engine, user_id="officer", channel="zalo")
    await login(officer, "0987 000 111")
    await grant_role(app, clock, officer, "officer", "*")
    await officer.send("/duyet")
    assert "(tự khai, chưa xác minh)" in officer.text
