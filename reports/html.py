"""The annual report as one self-contained HTML file a council can publish as it is: styles and
charts inline, no scripts, nothing fetched. The officers' report page reuses the same body."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

from reports.charts import chart, trend_chart
from reports.model import AnnualReport, Cell, Table

STYLE = """
body{font-family:"Helvetica Neue",Arial,sans-serif;color:#0b0c0c;margin:0;line-height:1.45;background:#fff}
main{max-width:64rem;margin:0 auto;padding:1.5rem}
header.report{border-bottom:8px solid #1d70b8;margin-bottom:1.5rem;padding-bottom:.5rem}
h1{font-size:2rem;margin:.2rem 0}h2{font-size:1.5rem;margin-top:2.5rem;border-top:2px solid #b1b4b6;padding-top:1rem}
h3{font-size:1.15rem;margin:1.8rem 0 .3rem}.lede{font-size:1.15rem}.note{color:#505a5f;margin:.2rem 0 .6rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .5rem;border-bottom:1px solid #b1b4b6;text-align:right}
th[scope=row],thead th:first-child{text-align:left;font-weight:normal}thead th{font-weight:bold;vertical-align:bottom}
thead tr.years th{font-weight:normal;color:#505a5f;font-size:.85rem}tr.total th,tr.total td{font-weight:bold;border-top:2px solid #0b0c0c}
td.diff{color:#505a5f}td.current{background:#f3f2f1}svg.chart{max-width:100%;height:auto;display:block;margin:.5rem 0}
nav.contents ol{columns:2}.glance{background:#f3f2f1;padding:1rem 1.2rem;border-left:6px solid #1d70b8}
ul.lessons li{margin:.4rem 0}footer{margin-top:3rem;color:#505a5f;font-size:.9rem}
@media print{h2{page-break-before:auto}svg.chart,table{page-break-inside:avoid}nav.contents{display:none}}
"""

BODY = """
<header class="report">
  <p class="lede">{{ report.council }}</p>
  <h1>Children's social care complaints and compliments: annual report {{ report.year.label }}</h1>
  <p>Representations under the Children Act 1989 from {{ report.year.first_day | longdate }} to {{ report.year.last_day | longdate }},
  beside {{ report.year.previous.label }}. Produced on {{ report.generated_on | longdate }}.</p>
</header>
<section class="glance" aria-label="At a glance"><h2 style="border:0;margin-top:0;padding-top:0">At a glance</h2>
{% for line in glance %}<p>{{ line }}</p>{% endfor %}</section>
<nav class="contents" aria-label="Contents"><h2>Contents</h2><ol>
{% if report.trend %}<li><a href="#trend">Over {{ report.trend.years | length }} years</a></li>{% endif %}
{% for section, tables in sections %}<li><a href="#{{ section | slug }}">{{ section }}</a></li>{% endfor %}
<li><a href="#how-counted">How these figures are counted</a></li></ol></nav>
{% if report.trend %}
<section id="trend"><h2>Over {{ report.trend.years | length }} years</h2>
<p class="note">Statutory procedure, except initial feedback and compliments (both procedures). Each year's figures are that year's own report's; on time means {{ report.trend.on_time_label }}.</p>
{{ trend_svg }}
<table>
<thead><tr><th scope="col"></th>{% for fy in report.trend.years %}<th scope="col">{{ fy.label }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in report.trend.rows %}<tr><th scope="row">{{ row.label }}</th>{% for v in row.values %}<td{% if loop.last %} class="current"{% endif %}>{{ fmt(v, row.unit, False) }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></section>
{% endif %}
{% for section, tables in sections %}
<section id="{{ section | slug }}"><h2>{{ section }}</h2>
{% for table in tables %}
<h3 id="{{ table.key }}">{{ table.title }}</h3>
<p class="note">{{ table.note }}</p>
{% set svg = charts[table.key] %}{% if svg %}{{ svg }}{% endif %}
<table>
<thead><tr><th rowspan="2" scope="col"></th>
{% for m in table.measures %}<th colspan="3" scope="colgroup">{{ m.name }}</th>{% endfor %}</tr>
<tr class="years">{% for m in table.measures %}<th scope="col">{{ report.year.label }}</th><th scope="col">{{ report.year.previous.label }}</th><th scope="col">difference</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}<tr{% if row.total %} class="total"{% endif %}><th scope="row">{{ row.label }}</th>
{% for cell in row.cells %}{% set unit = table.unit(row, loop.index0) %}<td class="current">{{ fmt(cell.current, unit, cell.current_hidden) }}</td><td>{{ fmt(cell.previous, unit, cell.previous_hidden) }}</td><td class="diff">{{ diff(cell, unit) }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% if table.key == "learning" %}
{% if report.lessons %}<p>What the council changed after complaints it upheld this year, most often recorded first:</p>
<ul class="lessons">{% for text, n in report.lessons %}<li>{{ text }}{% if n > 1 %} <span class="note">({{ n }} complaints)</span>{% endif %}</li>{% endfor %}</ul>
{% else %}<p>No learning was recorded from upheld complaints this year.</p>{% endif %}
{% endif %}
{% endfor %}</section>
{% endfor %}
<section id="how-counted"><h2>How these figures are counted</h2><ul>
{% for line in report.method %}<li>{{ line }}</li>{% endfor %}</ul></section>
"""

DOCUMENT = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.council }}: children's social care complaints annual report {{ report.year.label }}</title>
<style>{{ style }}</style></head>
<body><main>{{ body }}<footer>Produced from the council's complaints record by Heard. No figure in this report identifies a person.</footer></main></body></html>
"""

ENV = Environment(loader=DictLoader({"body": BODY, "document": DOCUMENT}), autoescape=select_autoescape(default=True, default_for_string=True))
ENV.filters["longdate"] = lambda d: f"{d.day} {d:%B %Y}"
ENV.filters["slug"] = lambda s: "-".join("".join(c if c.isalnum() else " " for c in s.lower()).split())


def fmt(value: float | None, unit: str, hidden: bool = False, threshold: int = 5) -> str:
    """A figure as a reader sees it: 1,234 · 42.9% · 13.8 · £250.00 · <5 · –."""
    if hidden:
        return f"<{threshold}"
    if value is None:
        return "–"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "days":
        return f"{value:.1f}"
    if unit == "money":
        return f"£{value / 100:,.2f}"
    return f"{int(value):,}"


def diff(cell: Cell, unit: str) -> str:
    change = cell.difference
    if change is None:
        return "–"
    if change == 0:
        return "0"
    sign = "+" if change > 0 else "−"
    if unit == "percent":
        return f"{sign}{abs(change):.1f} pts"  # a change of a percentage is in points
    return sign + fmt(abs(change), unit)


def sections(report: AnnualReport) -> list[tuple[str, list[Table]]]:
    grouped: dict[str, list[Table]] = {}
    for table in report.tables:
        grouped.setdefault(table.section or "Other figures", []).append(table)
    return list(grouped.items())


def glance(report: AnnualReport) -> list[str]:
    """Three plain sentences from the tables, for the top of the report."""
    this, last = report.year.label, report.year.previous.label
    vol = {row.label: row.cells[0] for row in report.table("volumes").rows}
    s1 = vol["Complaints at stage 1"]
    change = "the same number as" if s1.difference == 0 else f"{abs(s1.difference or 0):,} {'more' if (s1.difference or 0) > 0 else 'fewer'} than"
    within = report.table("timeliness_stage_1").rows[0]
    upheld = report.table("percentage_upheld").rows[0].cells[1]
    lines = [f"In {this} the council received {fmt(s1.current, 'count')} complaints at stage 1, {change} in {last}, "
             f"and {fmt(vol['Compliments'].current, 'count')} compliments."]
    if within.cells[0].current is not None and report.table("timeliness_stage_1").rows[-1].cells[0].current:
        lines.append(f"{fmt(within.cells[1].current, 'percent')} of stage 1 responses were sent {within.label.lower()} "
                     f"({fmt(within.cells[1].previous, 'percent')} in {last}); {fmt(upheld.current, 'percent')} of stage 1 complaints were upheld in full or in part.")
    lines.append(f"{fmt(vol['Complaints at stage 2'].current, 'count')} complaints went on to stage 2 and {fmt(vol['Complaints at stage 3'].current, 'count')} to a stage 3 review panel.")
    return lines


def render_body(report: AnnualReport, *, with_charts: bool = True) -> Markup:
    charts = {t.key: Markup(chart(t, report) or "") if with_charts else "" for t in report.tables}
    threshold = report.suppress_below

    def fmt_cell(value: float | None, unit: str, hidden: bool) -> str:
        return fmt(value, unit, hidden, threshold)

    trend_svg = Markup(trend_chart(report.trend)) if with_charts and report.trend else ""
    return Markup(ENV.get_template("body").render(report=report, sections=sections(report), charts=charts, fmt=fmt_cell, diff=diff,
                                                  glance=glance(report), trend_svg=trend_svg))


def render_document(report: AnnualReport) -> str:
    """The whole report as one HTML file."""
    return ENV.get_template("document").render(report=report, style=Markup(STYLE), body=render_body(report))
