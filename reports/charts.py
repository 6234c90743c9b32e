"""Charts for the report as inline SVG: drawn by matplotlib (no pyplot, no display, nothing fetched),
text kept as text so the page's own font is used and a screen reader can read it."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from reports.model import AnnualReport, Table  # noqa: E402

CURRENT, PREVIOUS, THIRD = "#1d70b8", "#b1b4b6", "#d4351c"
RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#505a5f",
    "axes.titlesize": 10,
}
_STRIP = [re.compile(r"<\?xml[^>]*>\s*"), re.compile(r"<!DOCTYPE[^>]*>\s*"), re.compile(r"<metadata>.*?</metadata>\s*", re.S)]


def _svg(fig: Figure, key: str, label: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({**RC, "svg.hashsalt": key}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    for pattern in _STRIP:
        text = pattern.sub("", text)
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)


def _charted(table: Table) -> list:  # type: ignore[type-arg]
    """The rows a chart draws: not totals, nor figures counted beside the table (withdrawals)."""
    return [row for row in table.rows if not row.total and not row.aside]


def _values(table: Table, side: str) -> list[float]:
    return [getattr(row.cells[0], side) or 0 for row in _charted(table)]


def _whole_numbers(axis) -> None:  # type: ignore[no-untyped-def]
    """Count axes tick at whole numbers only: there is no half a complaint."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _legend_outside(ax: Axes, **options: object) -> None:
    """The legend beside the plot, never over a bar or a line."""
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **options)


def chart(table: Table, report: AnnualReport) -> str | None:
    """The table's chart as an `<svg>` element, or None (no chart, or a figure is suppressed)."""
    if table.chart is None or not table.rows:
        return None
    if any(c.current_hidden or c.previous_hidden for row in table.rows for c in row.cells):
        return None
    with matplotlib.rc_context(RC):
        if table.chart == "lines":
            fig = _lines(table, report)
        else:
            fig = _bars(table, report, horizontal=table.chart == "hbars")
    return _svg(fig, table.key, f"Chart: {table.title}, {report.year.label} against {report.year.previous.label}")


def _bars(table: Table, report: AnnualReport, *, horizontal: bool) -> Figure:
    labels = [row.label for row in _charted(table)]
    current, previous = _values(table, "current"), _values(table, "previous")
    positions = list(range(len(labels)))
    width = 0.38
    if horizontal:
        fig = Figure(figsize=(7.2, 0.32 * len(labels) + 0.9))
        ax = fig.add_subplot()
        ax.barh([p + width / 2 for p in positions], previous, height=width, color=PREVIOUS, label=report.year.previous.label)
        ax.barh([p - width / 2 for p in positions], current, height=width, color=CURRENT, label=report.year.label)
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        for p, value in zip(positions, current, strict=True):
            ax.annotate(f"{value:,.0f}", (value, p - width / 2), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_xlabel(table.measures[0].name)
        _whole_numbers(ax.xaxis)
    else:
        fig = Figure(figsize=(7.2, 3.2))
        ax = fig.add_subplot()
        ax.bar([p - width / 2 for p in positions], current, width=width, color=CURRENT, label=report.year.label)
        ax.bar([p + width / 2 for p in positions], previous, width=width, color=PREVIOUS, label=report.year.previous.label)
        ax.set_xticks(positions, labels)
        for p, value in zip(positions, current, strict=True):
            ax.annotate(f"{value:,.0f}", (p - width / 2, value), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
        ax.set_ylabel(table.measures[0].name)
        _whole_numbers(ax.yaxis)
    _legend_outside(ax)
    return fig


def _lines(table: Table, report: AnnualReport) -> Figure:
    rows = _charted(table)
    months = [row.label[:3] for row in rows]
    fig = Figure(figsize=(7.2, 3.2))
    ax = fig.add_subplot()
    series = [(0, "received", CURRENT, "-"), (1, "responded", THIRD, "-"), (3, "carried forward", "#505a5f", ":")]
    for index, name, colour, style in series:
        ax.plot(months, [row.cells[index].current or 0 for row in rows], style, color=colour, marker="o", markersize=3, label=f"{name} {report.year.label}")
    ax.plot(months, [row.cells[0].previous or 0 for row in rows], "--", color=PREVIOUS, label=f"received {report.year.previous.label}")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("complaints")
    _whole_numbers(ax.yaxis)
    _legend_outside(ax, fontsize=8)
    return fig


def trend_chart(trend) -> str:  # type: ignore[no-untyped-def]
    """The trend as two small charts side by side: volumes (whole numbers) and percentages."""
    years = [fy.label for fy in trend.years]
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(9.6, 3.2))
        counts, shares = fig.subplots(1, 2)
        palette = [CURRENT, THIRD, "#505a5f", "#00703c", "#f47738"]
        for ax, unit, title in ((counts, "count", "Received"), (shares, "percent", "Stage 1 on time and upheld (%)")):
            lines = [row for row in trend.rows if row.unit == unit and (unit == "percent" or row.label in _TREND_VOLUMES)]
            for colour, row in zip(palette, lines, strict=False):
                ax.plot(years, [v if v is not None else float("nan") for v in row.values], "-", color=colour, marker="o", markersize=3, label=row.label)
            ax.set_title(title, loc="left")
            ax.set_ylim(bottom=0, top=100 if unit == "percent" else None)
            if unit == "count":
                _whole_numbers(ax.yaxis)
            ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8)
        fig.subplots_adjust(wspace=0.3)
    return _svg(fig, "trend", f"Chart: trend over {len(years)} years, {years[0]} to {years[-1]}")


_TREND_VOLUMES = {"Initial feedback (concerns)", "Complaints at stage 1", "Complaints at stage 2", "Complaints at stage 3", "Compliments"}
