"""Turns a Stats object into the Vietnamese text officers read."""

from __future__ import annotations

from bot.review import STATUS_NAMES
from bot.stats.views import GroupRow, Stats
from rules.campaigns import Campaign, EmulationGroup, Phase
from rules.dates import format_date
from rules.fields import format_count

TOP_CHILDREN = 15
IDLE_SHOWN = 10


def _percent(part: float) -> str:
    return f"{part * 100:.1f}%".replace(".", ",")


def _lines(title: str, counts: dict[str, int], names: dict[str, str]) -> list[str]:
    if not counts:
        return []
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [title] + [f"  • {names.get(code, code)}: {format_count(n)}" for code, n in ordered]


def _phase_line(stats: Stats, phase: Phase) -> str:
    done = stats.by_progress.get(phase.code, 0)
    target = phase.target or 1
    shown = f"{format_count(done)} / {format_count(target)}"
    return f"  • {phase.name}: {shown} ({_percent(done / target)})"


def format_stats(stats: Stats) -> str:
    campaign = stats.campaign
    lines = [
        f"📊 THỐNG KÊ – {campaign.short_name}",
        f"Phạm vi: {stats.scope_label}",
        f"Thời gian: {stats.period.text()}",
        f"Tổng số sáng kiến: {format_count(stats.total)}",
    ]
    if stats.target:
        lines.append(
            f"Chỉ tiêu: {format_count(stats.target)} – đạt "
            f"{_percent(stats.toward_target / stats.target)} "
            f"({format_count(stats.toward_target)}, không tính sáng kiến không hợp lệ)"
        )
    if stats.scope == "*":
        lines += [_phase_line(stats, phase) for phase in campaign.phases if phase.target]
    lines.append(f"Người tham gia: {format_count(stats.participants)}")
    if stats.members:
        lines.append(
            f"Tỷ lệ tham gia: {_percent(stats.participants / stats.members)} "
            f"của {format_count(stats.members)} đoàn viên (mục tiêu từ 10%)"
        )
    if (rate := stats.valid_rate) is not None:
        lines.append(f"Tỷ lệ hợp lệ (trên số đã duyệt): {_percent(rate)}")
    if stats.nominated:
        named = [
            f"{level.short_name} {format_count(stats.nominated[level.code])}"
            for level in campaign.award_levels
            if level.code in stats.nominated
        ]
        lines.append("Đề nghị khen thưởng: " + "; ".join(named))
    lines += _lines("Theo trạng thái:", stats.by_status, STATUS_NAMES)
    lines += _lines("Theo giai đoạn:", stats.by_phase, {p.code: p.name for p in campaign.phases})
    lines += _lines(
        "Theo nhóm đối tượng:", stats.by_group, {c.code: c.name for c in campaign.target_groups}
    )
    lines += _lines(
        "Theo loại giải pháp:", stats.by_type, {c.code: c.name for c in campaign.solution_types}
    )
    active = [row for row in stats.children if row.total]
    if active:
        lines.append("Xếp hạng đơn vị trực thuộc:")
        lines += [
            f"  {rank}. {row.name}: {format_count(row.total)} "
            f"(hợp lệ {format_count(row.accepted)})"
            for rank, row in enumerate(active[:TOP_CHILDREN], 1)
        ]
        if len(active) > TOP_CHILDREN:
            lines.append(f"  … và {len(active) - TOP_CHILDREN} đơn vị khác (/bieudo vẽ đủ)")
    idle = [row.name for row in stats.children if not row.total]
    if idle:
        shown = ", ".join(idle[:IDLE_SHOWN])
        more = f" và {len(idle) - IDLE_SHOWN} đơn vị khác" if len(idle) > IDLE_SHOWN else ""
        lines.append(f"Chưa có sáng kiến ({len(idle)} đơn vị): {shown}{more}.")
    if stats.by_week:
        lines.append("Theo tuần (tuần bắt đầu ngày):")
        lines += [f"  {format_date(week)}: {format_count(n)}" for week, n in stats.by_week[-12:]]
    return "\n".join(lines)


def format_group(
    campaign: Campaign, group: EmulationGroup, period_label: str, rows: list[GroupRow]
) -> str:
    """The ranking of a cụm or khối thi đua."""
    lines = [
        f"🏆 XẾP HẠNG {group.name.upper()} – {campaign.short_name}",
        f"Thời gian: {period_label}",
    ]
    for rank, row in enumerate(rows, 1):
        parts = [
            f"{format_count(row.toward_target)} sáng kiến",
            f"hợp lệ {format_count(row.accepted)}",
        ]
        if row.progress is not None:
            parts.append(f"đạt {_percent(row.progress)} chỉ tiêu")
        if row.members:
            parts.append(f"tham gia {_percent(row.participants / row.members)}")
        lines.append(f"  {rank}. {row.name}: " + ", ".join(parts))
    lines.append("(Không tính sáng kiến không hợp lệ và đã rút.)")
    return "\n".join(lines)
