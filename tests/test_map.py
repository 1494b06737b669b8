"""Today's map (34 provinces since 1/7/2025): a worker or an operator who types the name of a
province that was merged is led to the province it is part of, never told “không tìm thấy”."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from tests.conftest import running_app
from tests.fakechat import FakeChat
from tests.flow import login
from tests.processes import ROOT


def _campaigns_on_2025(tmp_path: Path) -> Path:
    text = (ROOT / "campaigns.yaml").read_text(encoding="utf-8")
    moved = text.replace('catalog: "2021"', 'catalog: "2025"').replace(
        "catalog: 2021", "catalog: 2025"
    )
    assert moved != text
    path = tmp_path / "campaigns.yaml"
    path.write_text(moved, encoding="utf-8")
    return path


MERGED = [  # typed, the unit it leads to, as it is said
    ("Bắc Giang", "Bắc Ninh (gồm Bắc Giang cũ)"),
    ("LĐLĐ Bắc Giang", "Bắc Ninh (gồm Bắc Giang cũ)"),
    ("thai binh", "Hưng Yên (gồm Thái Bình cũ)"),
]


@pytest.mark.parametrize(("typed", "said"), MERGED)
async def test_an_old_province_name_leads_to_its_successor(
    db_url: str,
    make_settings: Callable[..., Settings],
    clock: FixedClock,
    tmp_path: Path,
    typed: str,
    said: str,
) -> None:
    settings = make_settings(db_url, campaigns_file=_campaigns_on_2025(tmp_path))
    async with running_app(settings, clock) as app:
        chat = FakeChat(app.engine, channel="zalo")
        await login(chat)
        await chat.click("Nộp sáng kiến mới")
        for answer in ("Lê Thị Mai", "1988", "Kỹ sư", "Công ty May"):
            await chat.send(answer)
        await chat.send(typed)
        assert f"Đơn vị: {said}." in chat.text, chat.text
        assert "không tìm thấy" not in chat.text.lower()


@pytest.mark.parametrize(("typed", "said"), MERGED)
def test_the_operator_finds_the_successor_by_the_old_name(
    tmp_path: Path, typed: str, said: str
) -> None:
    from tests.test_cli import run

    done = run(["units", "list", "--catalog", "2025", "--search", typed], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith(said), done.stdout
