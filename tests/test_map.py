"""Today's map (34 provinces since 1/7/2025): a worker or an operator who types the name of a
province that was merged is led to the province it is part of, never told “không tìm thấy”."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot import admin
from bot.app import App
from bot.clock import FixedClock
from bot.config import Settings
from bot.stats.export import EVERY
from bot.store.models import Submission
from bot.unit_map import follow_map
from rules.campaigns import TZ
from tests.conftest import CliRun, running_app
from tests.fakechat import FakeChat
from tests.flow import fill_initiative, grant_role, login, submit_new
from tests.processes import ROOT
from tests.test_cli import run


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
    ("tôi làm ở LĐLĐ Bắc Giang", "Bắc Ninh (gồm Bắc Giang cũ)"),  # said in a sentence
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
    cli: CliRun, typed: str, said: str
) -> None:
    done = cli(["units", "list", "--catalog", "2025", "--search", typed])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith(said), done.stdout


def _env(campaigns: Path) -> dict[str, str]:
    return {"SANGKIEN_CAMPAIGNS_FILE": str(campaigns)}


def _on_2021(make_settings: Callable[..., Settings], url: str) -> Settings:
    return make_settings(url)


def _on_2025(make_settings: Callable[..., Settings], url: str, tmp_path: Path) -> Settings:
    return make_settings(url, campaigns_file=_campaigns_on_2025(tmp_path))


async def _figures(app: App, unit: str) -> str:
    return await admin.print_stats(app, unit, None, None, recount=False)


async def _export_units(app: App, unit: str, tmp_path: Path) -> list[str]:
    """The “Đơn vị” column of the award file an operator writes for a unit."""
    out = tmp_path / f"{unit}.xlsx"
    await admin.write_export(app, unit, None, None, out, None, False, EVERY)
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    column = next(r for r in rows if r and r[0] == "TT").index("Đơn vị")
    return [str(r[column]) for r in rows if r and isinstance(r[0], int)]


async def test_a_filing_in_bac_giang_counts_for_bac_ninh_once_the_campaign_moves_to_2025(
    any_db_url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    async with running_app(_on_2021(make_settings, any_db_url), clock) as app:
        worker = FakeChat(app.engine, user_id="worker")
        await login(worker)
        await submit_new(worker)  # the profile's unit: Bắc Giang (t24)
        old_officer = FakeChat(app.engine, user_id="officer-bg", channel="zalo")
        await login(old_officer, "0912 000 111")
        await grant_role(app, clock, old_officer, "officer", "t24")
        assert "Tổng số sáng kiến: 1" in await _figures(app, "t24")

    moved = _campaigns_on_2025(tmp_path)
    said = run(["stats", "--unit", "n24", "--db", any_db_url], tmp_path, **_env(moved))
    assert "Phạm vi: Bắc Ninh" in said.stdout and "Tổng số sáng kiến: 1" in said.stdout, said
    async with running_app(_on_2025(make_settings, any_db_url, tmp_path), clock) as app:
        assert await follow_map(app) is None  # `sangkien stats` recounted once, in 2025 units
        bac_ninh = await _figures(app, "n24")
        assert "Phạm vi: Bắc Ninh" in bac_ninh and "Tổng số sáng kiến: 1" in bac_ninh
        country = await _figures(app, "*")
        assert "1. Bắc Ninh: 1" in country, country
        assert "Bắc Giang" not in country.split("Xếp hạng")[1]
        assert await _export_units(app, "n24", tmp_path) == ["Bắc Ninh — Bắc Giang (cũ)"]

        officer = FakeChat(app.engine, user_id="officer-bn", channel="zalo")
        await login(officer, "0912 000 222")
        await grant_role(app, clock, officer, "officer", "n24")
        await officer.send("/stats")
        assert "Phạm vi: Bắc Ninh" in officer.text and "Tổng số sáng kiến: 1" in officer.text

        # a worker of the former Bắc Giang files again: the saved unit files as Bắc Ninh
        worker = FakeChat(app.engine, user_id="worker")
        await worker.send("/menu")
        await worker.click("Nộp sáng kiến mới")
        assert "Đơn vị: Bắc Ninh — Bắc Giang (cũ)" in worker.text, worker.text
        await worker.click("Dùng thông tin này")
        await fill_initiative(worker, title="Bảng theo dõi vật tư dùng chung")
        await worker.click("Gửi sáng kiến")
        async with app.sessions() as session:
            filed = (await session.execute(select(Submission.unit_code, Submission.catalog))).all()
        assert sorted(filed) == [("n24", "2025"), ("t24", "2021")]  # kept as filed
        await officer.send("/stats")
        assert "Tổng số sáng kiến: 2" in officer.text

        # the former Bắc Giang officer keeps what was filed in Bắc Giang, and only that
        old_officer = FakeChat(app.engine, user_id="officer-bg", channel="zalo")
        await old_officer.send("/stats")
        assert "Phạm vi: Bắc Giang (cũ, nay thuộc Bắc Ninh)" in old_officer.text
        assert "Tổng số sáng kiến: 1" in old_officer.text
        await old_officer.send("/stats n24")
        assert "ngoài phạm vi" in old_officer.text

    async with running_app(_on_2021(make_settings, any_db_url), clock) as app:
        assert await follow_map(app)  # moved back: the old view again
        assert "Tổng số sáng kiến: 1" in await _figures(app, "t24")
        assert "Tổng số sáng kiến: 2" in await _figures(app, "*")


async def test_targets_of_merged_provinces_add_up_unless_set_anew(
    db_url: str, make_settings: Callable[..., Settings], clock: FixedClock, tmp_path: Path
) -> None:
    campaigns = _campaigns_on_2025(tmp_path)
    text = campaigns.read_text(encoding="utf-8")
    set_for_both = "goals: {t24: {target: 200, members: 1000}, t27: {target: 300, members: 3000}}"
    campaigns.write_text(text.replace("goals: {}", set_for_both, 1), encoding="utf-8")
    async with running_app(make_settings(db_url, campaigns_file=campaigns), clock) as app:
        figures = await _figures(app, "n24")
        assert "Chỉ tiêu: 500" in figures, figures
        assert "của 4.000 đoàn viên" in figures
    set_anew = set_for_both[:-1] + ", n24: {target: 450, members: 3900}}"
    campaigns.write_text(text.replace("goals: {}", set_anew, 1), encoding="utf-8")
    async with running_app(make_settings(db_url, campaigns_file=campaigns), clock) as app:
        assert "Chỉ tiêu: 450" in await _figures(app, "n24")


def _campaigns_on_auto(tmp_path: Path) -> Path:
    """The preset with `catalog: auto`, its second phase kept open across 1/7/2025."""
    path = _campaigns_on_2025(tmp_path)
    text = path.read_text(encoding="utf-8").replace('catalog: "2025"', "catalog: auto")
    path.write_text(text.replace("closes: 2023-09-02T00:00", "closes: 2026-01-01T00:00"))
    return path


CATALOG_ON = [  # the clock's day, the catalog `auto` speaks in, a province of it
    (datetime(2022, 3, 1, 9, 0, tzinfo=TZ), "2021", "t24"),
    (datetime(2025, 6, 30, 23, 0, tzinfo=TZ), "2021", "t24"),
    (datetime(2025, 7, 1, 0, 30, tzinfo=TZ), "2025", "n24"),
]


@pytest.mark.parametrize(("now", "version", "province"), CATALOG_ON)
async def test_catalog_auto_speaks_in_the_map_in_force_on_the_day(
    db_url: str,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    now: datetime,
    version: str,
    province: str,
) -> None:
    settings = make_settings(db_url, campaigns_file=_campaigns_on_auto(tmp_path))
    async with running_app(settings, FixedClock(now)) as app:
        await follow_map(app)
        assert app.engine.services.catalog.code == version
        assert "Phạm vi: Bắc" in await _figures(app, province)


async def test_the_bot_moves_to_the_new_map_at_midnight_with_catalog_auto(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2025, 6, 30, 23, 59, tzinfo=TZ))
    settings = make_settings(db_url, campaigns_file=_campaigns_on_auto(tmp_path))
    async with running_app(settings, clock) as app:
        await follow_map(app)
        assert app.engine.services.catalog.code == "2021"
        clock.set(datetime(2025, 7, 1, 0, 1, tzinfo=TZ))
        await follow_map(app)
        assert app.engine.services.catalog.code == "2025"
        chat = FakeChat(app.engine, channel="zalo")
        await login(chat)
        await chat.click("Nộp sáng kiến mới")
        for answer in ("Lê Thị Mai", "1988", "Kỹ sư", "Công ty May", "Bắc Giang"):
            await chat.send(answer)
        assert "Đơn vị: Bắc Ninh (gồm Bắc Giang cũ)." in chat.text, chat.text


def test_grassroots_unions_follow_their_province_onto_the_new_map(
    tmp_path: Path, cli: CliRun
) -> None:
    """A CĐCS imported under a district LĐLĐ of 2021 is found under Bắc Ninh on the 2025 map;
    one imported for 2025 with its old parent stays where it was on the 2021 map."""
    extra = tmp_path / "units.extra.yaml"
    env = {"SANGKIEN_UNITS_EXTRA_FILE": str(extra)}
    old = tmp_path / "cdcs-2021.csv"
    old.write_text(
        "mã,tên,mã cấp trên\nt24.viet_yen.dien,CĐCS Công ty Điện tử Việt Yên,t24.viet_yen\n"
    )
    assert cli(["units", "import", str(old), "--catalog", "2021"], **env).returncode == 0
    new = tmp_path / "cdcs-2025.csv"
    new.write_text(
        "mã,tên,mã cấp trên,mã cấp trên cũ\n"
        "n24.nhua,CĐCS Công ty Nhựa Quang Châu,n24,t24.viet_yen\n"
        "n24.go,CĐCS Công ty Gỗ Tân Yên,n24,t24.khong_co\n"
    )
    refused = cli(["units", "import", str(new), "--catalog", "2025"], **env)
    assert "dòng 3 (n24.go): đơn vị cấp trên cũ “t24.khong_co” không có" in refused.stderr
    new.write_text("\n".join(new.read_text().splitlines()[:2]) + "\n")
    assert cli(["units", "import", str(new), "--catalog", "2025"], **env).returncode == 0

    on_2025 = cli(["units", "list", "--catalog", "2025", "--under", "n24"], **env)
    assert "  t24.viet_yen.dien  CĐCS Công ty Điện tử Việt Yên" in on_2025.stdout
    assert "  n24.nhua  CĐCS Công ty Nhựa Quang Châu" in on_2025.stdout
    found = cli(["units", "list", "--catalog", "2025", "--search", "dien tu viet yen"], **env)
    assert found.stdout.startswith("t24.viet_yen.dien  Bắc Ninh › CĐCS Công ty Điện tử")
    on_2021 = cli(["units", "list", "--catalog", "2021", "--under", "t24.viet_yen"], **env)
    assert "  n24.nhua  CĐCS Công ty Nhựa Quang Châu" in on_2021.stdout


NEW_CAMPAIGN_MISTAKES = [  # what is wrong in the block, what `sangkien check` says
    ('catalog: "2025"', 'catalog: "2024"', "danh mục “2024” không có trong units.yaml"),
    (
        "opens: 2026-07-01T07:00",
        "opens: 2026-06-15T07:00",
        "Giai đoạn 2 mở (2026-06-15 07:00) trước khi Giai đoạn 1 đóng",
    ),
    (
        "eligible_from: 2026-01-01",
        "eligible_from: 2025-01-01",
        "ra ngoài thời gian của chiến dịch",
    ),
    ('name: "Công nhân lao động"', 'name: ""', "mục 1 của “target_groups” chưa có tên"),
]


@pytest.mark.parametrize(("right", "wrong", "said"), NEW_CAMPAIGN_MISTAKES)
def test_check_explains_each_mistake_in_a_new_campaign(
    tmp_path: Path, cli: CliRun, right: str, wrong: str, said: str
) -> None:
    block = _new_campaign_block()
    path = tmp_path / "campaigns.yaml"
    env = {"SANGKIEN_CAMPAIGNS_FILE": str(path), "SANGKIEN_CAMPAIGN": "sk2026"}
    assert right in block
    path.write_text(block.replace(right, wrong, 1), encoding="utf-8")
    checked = cli(["check"], **env)
    assert checked.returncode == 2 and said in checked.stderr, checked.stderr


def test_the_new_campaign_block_passes_check(tmp_path: Path, cli: CliRun) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text(_new_campaign_block(), encoding="utf-8")
    env = {"SANGKIEN_CAMPAIGNS_FILE": str(path), "SANGKIEN_CAMPAIGN": "sk2026"}
    checked = cli(["check"], **env)
    assert checked.returncode == 0 and checked.stdout.startswith("OK: chiến dịch sk2026"), checked


def _new_campaign_block() -> str:
    """The block docs/operations.md gives to copy for a new campaign on the 2025 map."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    start = text.index("```yaml\ncampaigns:\n  - code: sk2026")
    return text[start + len("```yaml\n") : text.index("```", start + 7)]
