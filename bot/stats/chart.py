"""/bieudo: submissions per week and per sub-unit, drawn as one PNG."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on servers; must come before pyplot

import matplotlib.pyplot as plt

from bot.stats.views import Stats
from rules.dates import format_date

TOP = 12


def render_png(stats: Stats) -> bytes:
    figure, (weekly, units) = plt.subplots(2, 1, figsize=(9, 9), dpi=100)
    try:
        figure.suptitle(f"{stats.campaign.short_name} – {stats.scope_label}", fontsize=13)
        labels = [format_date(week)[:5] for week, _n in stats.by_week]
        weekly.bar(range(len(labels)), [n for _w, n in stats.by_week], color="#1f6fb2")
        weekly.set_title("Số sáng kiến theo tuần")
        step = max(1, len(labels) // 12)
        weekly.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, fontsize=8)
        top = stats.children[:TOP][::-1]
        units.barh([row.name for row in top], [row.total for row in top], color="#2e9e5b")
        units.set_title("Số sáng kiến theo đơn vị trực thuộc")
        units.tick_params(axis="y", labelsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
