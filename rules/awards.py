"""Award levels as campaign data (campaigns.yaml `award_levels`): who chooses at each level,
how many per unit, by when, and on which criteria (45/HD-CĐYT part 3–4; 46/HD-TLĐ part V)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from rules.dates import format_date

TOP = "top"  # the provinces, central sector unions and corporation unions (depth 0)
WHOLE_COUNTRY = "*"  # the Tổng Liên đoàn
DECIDERS = (TOP, WHOLE_COUNTRY)


@dataclass(frozen=True, slots=True)
class AwardLevel:
    code: str
    name: str
    short_name: str  # on buttons: “cấp tỉnh”, “Tổng Liên đoàn”
    # who honours at this level: each top unit (`top`) or the Tổng Liên đoàn (`*`); the
    # nominations are made by officers of the top units either way (and the Tổng Liên đoàn's)
    decided_by: str
    quota: int | None  # nominations per top unit; None: as many as the deciding body wants
    deadline: date | None  # the last day the dossier is taken (inclusive)
    criteria: tuple[str, ...] = ()  # when set, each nomination names one
    # the level below, whose nominations this one chooses among (None: any valid initiative)
    below: str | None = None

    def closes(self) -> datetime | None:
        """The moment nominations close: the end of the deadline day, Vietnam time."""
        if self.deadline is None:
            return None
        from rules.campaigns import TZ

        return datetime.combine(self.deadline + timedelta(days=1), time(), TZ)

    def describe(self) -> str:
        parts = [self.name]
        if self.quota is not None:
            parts.append(f"tối đa {self.quota} sáng kiến mỗi đơn vị cấp tỉnh, ngành")
        if self.deadline is not None:
            parts.append(f"hạn nộp hồ sơ {format_date(self.deadline)}")
        return "; ".join(parts)

    def criterion(self, number: int | None) -> str | None:
        if number is None or not 1 <= number <= len(self.criteria):
            return None
        return self.criteria[number - 1]


def level_problems(raw: Any, where: str) -> list[str]:
    """Every mistake in a campaign's `award_levels`, one line each."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [f"{where}: “award_levels” cần một danh sách"]
    problems: list[str] = []
    codes: list[str] = []
    for number, item in enumerate(raw, 1):
        here = f"{where}: cấp khen thưởng {number}"
        if not isinstance(item, dict):
            problems.append(f"{here}: cần một khối gồm code, name, decided_by")
            continue
        if not str(item.get("code") or "").strip():
            problems.append(f"{here} chưa có mã (code)")
        if not str(item.get("name") or "").strip():
            problems.append(f"{here} chưa có tên (name)")
        if str(item.get("decided_by")) not in DECIDERS:
            problems.append(
                f"{here}: decided_by phải là “top” (tỉnh, ngành khen thưởng) hoặc “*” (Tổng "
                "Liên đoàn khen thưởng)"
            )
        quota = item.get("quota")
        if quota is not None and (not isinstance(quota, int) or quota < 1):
            problems.append(f"{here}: quota phải là số nguyên từ 1 (hoặc null: không giới hạn)")
        deadline = item.get("deadline")
        if deadline is not None and not isinstance(deadline, date):
            problems.append(f"{here}: deadline cần ngày dạng 2021-04-25")
        criteria = item.get("criteria") or []
        if not isinstance(criteria, list) or not all(str(c).strip() for c in criteria):
            problems.append(f"{here}: criteria cần một danh sách tên tiêu chí, không để trống")
        below = item.get("below")
        if below is not None and str(below) not in codes:
            problems.append(f"{here}: below “{below}” phải là mã một cấp khen thưởng đứng trước")
        code = str(item.get("code") or "")
        if code in codes:
            problems.append(f"{here}: mã “{code}” bị trùng")
        codes.append(code)
    return problems


def load_levels(raw: Any) -> tuple[AwardLevel, ...]:
    """The levels of a block `level_problems` found nothing wrong in."""
    return tuple(
        AwardLevel(
            code=str(item["code"]),
            name=str(item["name"]),
            short_name=str(item.get("short_name") or item["name"]),
            decided_by=str(item["decided_by"]),
            quota=item.get("quota"),
            deadline=item.get("deadline"),
            criteria=tuple(str(c) for c in item.get("criteria") or ()),
            below=str(item["below"]) if item.get("below") else None,
        )
        for item in raw or ()
    )
