"""Campaigns as data: windows, phases, limits, target groups and solution types."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from rules.awards import AwardLevel, level_problems, load_levels
from rules.dates import format_date
from rules.text import fold_words
from rules.verdict import Ok, Rejected, Verdict
from rules.yamlfile import describe, load_yaml

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class CampaignError(ValueError):
    """The campaigns file is malformed."""


@dataclass(frozen=True, slots=True)
class Choice:
    code: str
    name: str
    keys: tuple[str, ...] = ()  # short names people type, folded: ("ky thuat",)
    hint: str | None = None  # one line saying who or what belongs here


@dataclass(frozen=True, slots=True)
class Phase:
    code: str
    name: str
    opens: datetime
    closes: datetime  # exclusive: "trước 24h00 ngày 31/5/2022" is 01/06/2022 00:00
    eligible_from: date
    eligible_to: date
    target: int | None

    def describe(self) -> str:
        last = self.closes - timedelta(minutes=1)
        return (
            f"{self.name}: từ {self.opens:%H}h{self.opens:%M} ngày "
            f"{format_date(self.opens.date())} "
            f"đến trước 24h00 ngày {format_date(last.date())}, cho sáng kiến áp dụng từ "
            f"{format_date(self.eligible_from)} đến {format_date(self.eligible_to)}"
        )


@dataclass(frozen=True, slots=True)
class Goal:
    """A unit's target number of initiatives and its member count (for participation)."""

    target: int | None
    members: int | None


@dataclass(frozen=True, slots=True)
class EmulationGroup:
    """A cụm or khối thi đua: units ranked against each other."""

    code: str
    name: str
    units: tuple[str, ...]


# `reminders: {monthly_report: 5}`: the opted-in officers get last month's report on the 5th
# (the 28th at most, so that every month has it); false: never.
MONTHLY_REPORT_DAY = 1
LAST_REPORT_DAY = 28


@dataclass(frozen=True, slots=True)
class Campaign:
    code: str
    name: str
    short_name: str
    guidance: str
    catalog: str
    code_prefix: str
    description_limit: int
    deployment_from: date
    deployment_to: date
    phases: tuple[Phase, ...]
    target_groups: tuple[Choice, ...]
    target_group_prompt: str
    # the word the guidance uses for the groups: “nhóm đối tượng” (46/HD-TLĐ), “khối” (45/HD)
    target_group_term: str
    solution_types: tuple[Choice, ...]
    faq: tuple[tuple[str, str], ...]
    goals: dict[str, Goal]
    canned: tuple[str, ...] = ()
    # The guidance takes initiatives recognised from this day on (46/HD-TLĐ: 01/9/2021).
    recognized_from: date | None = None
    groups: tuple[EmulationGroup, ...] = ()
    # the award season: levels, lowest first (rules/awards.py)
    award_levels: tuple[AwardLevel, ...] = ()
    # the reminders the bot sends (REMINDERS); `reminders: {drafts: false}` turns one off
    reminders: frozenset[str] = frozenset()
    # the day of the month the opted-in officers get last month's report (None: never)
    monthly_report_day: int | None = MONTHLY_REPORT_DAY

    def award_level(self, code: str) -> AwardLevel | None:
        return next((level for level in self.award_levels if level.code == code), None)

    def goal(self, code: str, absorbed: Iterable[str] = ()) -> Goal | None:
        """A unit's goal: its own, or else the sum of those set for the older units that
        became part of it (Bắc Giang's and Bắc Ninh's targets for Bắc Ninh after 1/7/2025)."""
        if code in self.goals:
            return self.goals[code]
        found = [self.goals[old] for old in absorbed if old in self.goals]
        if not found:
            return None
        return Goal(_sum_known(g.target for g in found), _sum_known(g.members for g in found))

    def group(self, query: str) -> EmulationGroup | None:
        """The emulation group named (its code, or words of its name found in one only)."""
        key = fold_words(query)
        found = [g for g in self.groups if key in (g.code, fold_words(g.name))]
        found = found or [g for g in self.groups if f" {key} " in f" {fold_words(g.name)} "]
        return found[0] if len(found) == 1 else None

    def phase_at(self, now: datetime) -> Phase | None:
        return next((p for p in self.phases if p.opens <= now < p.closes), None)

    def window(self, now: datetime) -> Verdict[Phase]:
        """The open phase, or a message saying the campaign is not open yet or closed."""
        if phase := self.phase_at(now):
            return Ok(phase)
        upcoming = [p for p in self.phases if now < p.opens]
        ended = [p for p in self.phases if p.closes <= now]
        schedule = "\n".join(f"• {p.describe()}" for p in self.phases)
        if upcoming:
            nxt = upcoming[0]
            opens = f"{nxt.opens:%H}h{nxt.opens:%M} ngày {format_date(nxt.opens.date())}"
            if ended:
                last = ended[-1]
                closed = format_date((last.closes - timedelta(minutes=1)).date())
                head = (
                    f"{last.name} của Chương trình “{self.short_name}” đã kết thúc nhận sáng "
                    f"kiến ngày {closed}. {nxt.name} bắt đầu nhận từ {opens}."
                )
            else:
                head = (
                    f"Chương trình “{self.short_name}” chưa mở nhận sáng kiến. "
                    f"{nxt.name} mở lúc {opens}."
                )
            return Rejected(
                f"{head}\n{schedule}\nBạn vẫn có thể xem sáng kiến đã gửi và hỏi tổ hỗ trợ."
            )
        return Rejected(
            f"Chương trình “{self.short_name}” đã kết thúc nhận sáng kiến.\n{schedule}\n"
            "Bạn vẫn có thể xem sáng kiến đã gửi và hỏi tổ hỗ trợ."
        )

    def check_start(self, start: date, phase: Phase, today: date) -> Verdict[date]:
        """The deployment start must fall in the phase's eligible range and not be future."""
        earliest = max(phase.eligible_from, self.deployment_from)
        latest = min(phase.eligible_to, self.deployment_to)
        if earliest <= start <= latest and start > today:
            return Rejected(
                f"Ngày bắt đầu triển khai {format_date(start)} chưa đến (hôm nay là "
                f"{format_date(today)}). Chương trình nhận sáng kiến đã được đưa vào áp "
                "dụng; vui lòng gửi ngày đã bắt đầu áp dụng."
            )
        if start < earliest or start > latest:
            return Rejected(
                f"Ngày bắt đầu triển khai {format_date(start)} nằm ngoài thời gian được tham gia. "
                f"{phase.name} nhận sáng kiến đưa vào áp dụng từ {format_date(earliest)} "
                f"đến {format_date(latest)}. Sáng kiến áp dụng ngoài thời gian này không "
                "được tham gia Chương trình."
            )
        return Ok(start)


def recognition_warning(campaign: Campaign, recognized_on: date) -> str | None:
    """Why a recognition date falls outside what the guidance takes, or None."""
    first = campaign.recognized_from
    if first is None or recognized_on >= first:
        return None
    return (
        f"Văn bản công nhận ngày {format_date(recognized_on)} trước ngày "
        f"{format_date(first)}: Chương trình “{campaign.short_name}” chỉ nhận sáng kiến được "
        f"công nhận từ ngày {format_date(first)} ({campaign.guidance})."
    )


def check_end(start: date, end: date) -> Verdict[date]:
    if end < start:
        return Rejected(
            f"Ngày kết thúc {format_date(end)} trước ngày bắt đầu {format_date(start)}. "
            "Vui lòng gửi ngày kết thúc từ ngày bắt đầu trở đi."
        )
    return Ok(end)


def _local(value: Any, field: str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise CampaignError(f"{field}: cần ngày giờ dạng 2022-01-08T07:00")
    return value.replace(tzinfo=TZ) if value.tzinfo is None else value.astimezone(TZ)


def _day(value: Any, field: str) -> date:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if not isinstance(value, date):
        raise CampaignError(f"{field}: cần ngày dạng 2021-09-01")
    return value


def _choices(raw: Any, field: str) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not raw:
        raise CampaignError(f"{field}: cần một danh sách không rỗng")
    items = tuple(
        Choice(
            str(item["code"]),
            str(item["name"]),
            tuple(fold_words(str(key)) for key in item.get("keys", [])),
            str(item["hint"]) if item.get("hint") else None,
        )
        for item in raw
    )
    if len({c.code for c in items}) != len(items):
        raise CampaignError(f"{field}: mã bị trùng")
    return items


def _phase(raw: dict[str, Any], where: str) -> Phase:
    phase = Phase(
        code=str(raw["code"]),
        name=str(raw["name"]),
        opens=_local(raw["opens"], f"{where}.opens"),
        closes=_local(raw["closes"], f"{where}.closes"),
        eligible_from=_day(raw["eligible_from"], f"{where}.eligible_from"),
        eligible_to=_day(raw["eligible_to"], f"{where}.eligible_to"),
        target=int(raw["target"]) if raw.get("target") is not None else None,
    )
    if phase.closes <= phase.opens or phase.eligible_to < phase.eligible_from:
        raise CampaignError(f"{where}: thời gian kết thúc phải sau thời gian bắt đầu")
    return phase


# The reminders a campaign sends unless its `reminders:` block turns one off.
REMINDERS = {
    "drafts": "a draft untouched for 48 hours",
    "phase_closing": "unfinished drafts, 7 days and 1 day before a phase closes",
    "needs_info": "“cần bổ sung” unanswered for 3 days",
    "award_deadlines": "the deciding officers, 7 days and 1 day before an award deadline",
}


def _monthly_report_day(raw: Any) -> int | None:
    chosen = raw.get("monthly_report", True) if isinstance(raw, dict) else True
    if chosen is False:
        return None
    return MONTHLY_REPORT_DAY if chosen is True else int(chosen)


def _reminders(raw: Any) -> frozenset[str]:
    chosen = raw if isinstance(raw, dict) else {}
    return frozenset(kind for kind in REMINDERS if chosen.get(kind, True) is not False)


def reminder_problems(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [f"{where}: “reminders” cần dạng loại: true/false ({', '.join(REMINDERS)})"]
    day = raw.get("monthly_report", True)
    problems = [
        f"{where}: reminders: không có loại nhắc “{kind}” "
        f"(có: {', '.join(REMINDERS)}, monthly_report)"
        for kind in raw
        if kind not in REMINDERS and kind != "monthly_report"
    ]
    if not isinstance(day, bool) and not (isinstance(day, int) and 1 <= day <= LAST_REPORT_DAY):
        problems.append(
            f"{where}: reminders.monthly_report cần một ngày trong tháng "
            f"(1 đến {LAST_REPORT_DAY}) hoặc false"
        )
    problems += [
        f"{where}: reminders.{kind} cần true hoặc false"
        for kind, value in raw.items()
        if kind in REMINDERS and not isinstance(value, bool)
    ]
    return problems


def _campaign(raw: dict[str, Any]) -> Campaign:
    code = str(raw["code"])
    phases = tuple(_phase(p, f"{code}.phases[{i}]") for i, p in enumerate(raw["phases"]))
    return Campaign(
        code=code,
        name=str(raw["name"]),
        short_name=str(raw["short_name"]),
        guidance=str(raw["guidance"]),
        catalog=str(raw["catalog"]),
        code_prefix=str(raw.get("code_prefix", "SK")),
        description_limit=int(raw["description_limit"]),
        deployment_from=_day(raw["deployment_from"], f"{code}.deployment_from"),
        deployment_to=_day(raw["deployment_to"], f"{code}.deployment_to"),
        phases=phases,
        target_groups=_choices(raw["target_groups"], f"{code}.target_groups"),
        target_group_prompt=str(raw["target_group_prompt"]),
        target_group_term=str(raw.get("target_group_term") or "nhóm đối tượng"),
        solution_types=_choices(raw["solution_types"], f"{code}.solution_types"),
        faq=tuple((str(item["q"]), str(item["a"])) for item in raw.get("faq", [])),
        canned=tuple(str(text) for text in raw.get("canned", [])),
        recognized_from=_day(raw["recognized_from"], f"{code}.recognized_from")
        if raw.get("recognized_from")
        else None,
        award_levels=load_levels(raw.get("award_levels")),
        reminders=_reminders(raw.get("reminders")),
        monthly_report_day=_monthly_report_day(raw.get("reminders")),
        goals={
            str(unit): Goal(_optional_int(goal.get("target")), _optional_int(goal.get("members")))
            for unit, goal in (raw.get("goals") or {}).items()
        },
    )


def _sum_known(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


REQUIRED = (
    "code",
    "name",
    "short_name",
    "guidance",
    "catalog",
    "description_limit",
    "deployment_from",
    "deployment_to",
    "phases",
    "target_group_prompt",
    "target_groups",
    "solution_types",
)
NAMED_LISTS = ("phases", "target_groups", "solution_types")


def campaign_problems(raw: Any, index: int, catalogs: Iterable[str] = ()) -> list[str]:
    """Every mistake in one campaign block, one line each, in words an operator can act on:
    missing fields, unknown catalog, phases out of order or outside the campaign, entries
    without a name. `catalogs`: the catalog versions units.yaml has (empty: not checked)."""
    if not isinstance(raw, dict):
        return [f"campaigns[{index}]: cần một khối gồm code, name, phases…"]
    where = f"chiến dịch “{raw.get('code') or index}”"
    problems = [f"{where}: thiếu trường “{key}”" for key in REQUIRED if raw.get(key) in (None, "")]
    known = [*catalogs]
    if known and raw.get("catalog") and str(raw["catalog"]) not in (*known, "auto"):
        problems.append(
            f"{where}: danh mục “{raw['catalog']}” không có trong units.yaml "
            f"(có: {', '.join(known)}, hoặc auto: danh mục có hiệu lực từng ngày)"
        )
    for field in NAMED_LISTS:
        items = raw.get(field) or []
        if not isinstance(items, list):
            problems.append(f"{where}: “{field}” cần một danh sách")
            continue
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict) or not str(item.get("name") or "").strip():
                problems.append(f"{where}: mục {number} của “{field}” chưa có tên (name)")
            elif not str(item.get("code") or "").strip():
                problems.append(f"{where}: mục {number} của “{field}” chưa có mã (code)")
    problems += level_problems(raw.get("award_levels"), where)
    problems += reminder_problems(raw.get("reminders"), where)
    try:
        first = _day(raw["deployment_from"], "deployment_from")
        last = _day(raw["deployment_to"], "deployment_to")
        phases = [
            _phase(p, f"{where}, giai đoạn {number}")
            for number, p in enumerate(raw.get("phases") or [], 1)
        ]
    except (CampaignError, KeyError, TypeError, ValueError) as exc:
        if not problems:  # a missing field is already said; its consequence is not news
            problems.append(f"{where}: {_reason(exc)}")
        return problems
    if last < first:
        problems.append(f"{where}: deployment_to ({last}) trước deployment_from ({first})")
    problems.extend(
        f"{where}: {phase.name} nhận sáng kiến áp dụng {phase.eligible_from} – "
        f"{phase.eligible_to}, ra ngoài thời gian của chiến dịch {first} – {last}"
        for phase in phases
        if phase.eligible_from < first or phase.eligible_to > last
    )
    for before, after in pairwise(phases):
        if after.opens < before.closes:
            problems.append(
                f"{where}: {after.name} mở ({after.opens:%Y-%m-%d %H:%M}) trước khi "
                f"{before.name} đóng ({before.closes:%Y-%m-%d %H:%M}); các giai đoạn không "
                "được chồng lên nhau"
            )
    return problems


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"thiếu trường “{exc.args[0]}”"
    return str(exc)


def load_campaigns(text: str, catalogs: Iterable[str] = ()) -> dict[str, Campaign]:
    """Parse campaigns.yaml text; raises CampaignError listing every mistake found, one a
    line. `catalogs`: the catalog versions the campaigns may name."""
    known = tuple(catalogs)
    try:
        raw = load_yaml(text)
        blocks = raw["campaigns"]
        problems = [p for i, item in enumerate(blocks) for p in campaign_problems(item, i, known)]
        if problems:
            raise CampaignError("\n".join(problems))
        campaigns = [_campaign(item) for item in blocks]
    except CampaignError:
        raise
    except yaml.YAMLError as exc:
        raise CampaignError(f"tệp chiến dịch không hợp lệ: {describe(exc)}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise CampaignError(f"tệp chiến dịch không hợp lệ: {exc!r}") from exc
    by_code = {c.code: c for c in campaigns}
    if len(by_code) != len(campaigns):
        raise CampaignError("mã chiến dịch bị trùng")
    return by_code
