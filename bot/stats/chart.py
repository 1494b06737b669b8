"""/bieudo: submissions week by week and every sub-unit, drawn as PNG pages."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on servers; must come before pyplot

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from bot.stats.views import ChildRow, Stats

UNITS_PER_PAGE = 25


def render_pngs(stats: Stats) -> list[bytes]:
    """The first page: weeks and the first sub-units; then as many pages as the sub-units
    need, every one of them, those with none included."""
    pages = [
        stats.children[i : i + UNITS_PER_PAGE]
        for i in range(0, len(stats.children), UNITS_PER_PAGE)
    ]
    count = max(1, len(pages))
    first = _page(stats, pages[0] if pages else [], 1, count, with_weeks=True)
    return [first, *(_page(stats, rows, n, count) for n, rows in enumerate(pages[1:], 2))]


def _page(
    stats: Stats, rows: list[ChildRow], number: int, pages: int, *, with_weeks: bool = False
) -> bytes:
    height = 4 + 0.28 * max(len(rows), 4)
    plots = 2 if with_weeks else 1
    figure, axes = plt.subplots(
        plots,
        1,
        figsize=(9, height + (4 if with_weeks else 0)),
        dpi=100,
        squeeze=False,
        layout="constrained",
    )
    try:
        title = f"{stats.campaign.short_name} – {stats.scope_label}\n{stats.period.text()}"
        if pages > 1:
            title += f" (trang {number}/{pages})"
        figure.suptitle(title, fontsize=12)
        if with_weeks:
            _weeks(axes[0][0], stats)
        _units(axes[-1][0], rows)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def _weeks(chart: Axes, stats: Stats) -> None:
    labels = [f"{week:%d/%m/%y}" for week, _n in stats.by_week]
    chart.bar(range(len(labels)), [n for _w, n in stats.by_week], color="#1f6fb2")
    chart.set_title("Số sáng kiến theo tuần")
    chart.set_xlabel("Tuần bắt đầu ngày")
    chart.set_ylabel("Số sáng kiến")
    chart.yaxis.set_major_locator(MaxNLocator(integer=True))
    step = max(1, len(labels) // 12)
    chart.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, fontsize=8)
    if not labels:
        chart.set_yticks([])
        chart.text(
            0.5,
            0.5,
            "Chưa có sáng kiến trong thời gian này",
            ha="center",
            va="center",
            transform=chart.transAxes,
        )


def _units(chart: Axes, rows: list[ChildRow]) -> None:
    ordered = rows[::-1]
    chart.barh([row.name for row in ordered], [row.total for row in ordered], color="#2e9e5b")
    chart.set_title("Số sáng kiến theo đơn vị trực thuộc (cả đơn vị chưa có)")
    chart.set_xlabel("Số sáng kiến")
    chart.xaxis.set_major_locator(MaxNLocator(integer=True))
    chart.tick_params(axis="y", labelsize=8)
    if not rows:
        chart.text(
            0.5,
            0.5,
            "Không có đơn vị trực thuộc",
            ha="center",
            va="center",
            transform=chart.transAxes,
        )
