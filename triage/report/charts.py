"""Charts for the report as inline SVG: drawn by matplotlib (no pyplot, no display, nothing fetched),
text kept as text so the page's own font is used and a screen reader can read it."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from triage.report.model import AnnualReport, Table  # noqa: E402

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


def _values(table: Table, side: str) -> list[float]:
    return [getattr(row.cells[0], side) or 0 for row in table.rows if not row.total]


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
    labels = [row.label for row in table.rows if not row.total]
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
    else:
        fig = Figure(figsize=(7.2, 3.2))
        ax = fig.add_subplot()
        ax.bar([p - width / 2 for p in positions], current, width=width, color=CURRENT, label=report.year.label)
        ax.bar([p + width / 2 for p in positions], previous, width=width, color=PREVIOUS, label=report.year.previous.label)
        ax.set_xticks(positions, labels)
        for p, value in zip(positions, current, strict=True):
            ax.annotate(f"{value:,.0f}", (p - width / 2, value), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
        ax.set_ylabel(table.measures[0].name)
    ax.legend(frameon=False, loc="lower right" if horizontal else "upper right")
    return fig


def _lines(table: Table, report: AnnualReport) -> Figure:
    rows = [row for row in table.rows if not row.total]
    months = [row.label[:3] for row in rows]
    fig = Figure(figsize=(7.2, 3.2))
    ax = fig.add_subplot()
    series = [(0, "received", CURRENT, "-"), (1, "responded", THIRD, "-"), (3, "carried forward", "#505a5f", ":")]
    for index, name, colour, style in series:
        ax.plot(months, [row.cells[index].current or 0 for row in rows], style, color=colour, marker="o", markersize=3, label=f"{name} {report.year.label}")
    ax.plot(months, [row.cells[0].previous or 0 for row in rows], "--", color=PREVIOUS, label=f"received {report.year.previous.label}")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("complaints")
    ax.legend(frameon=False, ncols=2, fontsize=8)
    return fig
