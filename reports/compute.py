"""The annual report from the case record: the grouped figures of `queries` made into tables.

What counts where (also printed in the report's "How these figures are counted"):
- volumes, teams, reasons, who complained, advocacy, compensation and ethnicity: by the day
  the representation was received; stage 2 and 3 volumes by the day the stage started;
- timeliness and outcomes: by the day of the stage's response;
- stages are those of the statutory procedure; corporate complaints are counted once, apart.
Working days are counted as the statutory clock counts them (`workdays.WorkingDayIndex`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from models.enums import Kind, Outcome, Procedure, Reason, Role, Stage
from scheduler.clock import Clock
from scheduler.policy import Policy, Timescales
from reports import queries
from reports.model import AnnualReport, Cell, FinancialYear, Measure, Row, Table, half_up, pct, publishable, suppress
from reports.workdays import WorkingDayIndex

OUTCOME_LABELS = {
    Outcome.upheld: "Upheld",
    Outcome.partially_upheld: "Partially upheld",
    Outcome.not_upheld: "Not upheld",
    Outcome.withdrawn: "Withdrawn",
    Outcome.no_finding: "No finding",
    Outcome.outside_jurisdiction: "Outside jurisdiction",
}
REASON_LABELS = {
    Reason.communication: "Communication",
    Reason.staff_conduct: "Staff conduct or attitude",
    Reason.decision: "Disagreement with a decision",
    Reason.assessment: "Disagreement with an assessment",
    Reason.delay: "Delay",
    Reason.lack_of_support: "Lack of support",
    Reason.family_time: "Family time (contact)",
    Reason.placement_care: "Care in a placement",
    Reason.finance: "Money and finance",
    Reason.confidentiality_records: "Confidentiality and records",
    Reason.change_of_worker: "Change of worker",
    Reason.voice_not_heard: "Views not heard",
    "not_recorded": "No reason recorded",
}
MONTHS = ["April", "May", "June", "July", "August", "September", "October", "November", "December", "January", "February", "March"]
QUARTERS = ["Q1 (April–June)", "Q2 (July–September)", "Q3 (October–December)", "Q4 (January–March)"]
YOUNG = (Role.child_or_young_person, Role.care_leaver)
STAGE_NAMES = {Stage.initial_feedback: "Initial feedback", Stage.stage_1: "Stage 1", Stage.stage_2: "Stage 2", Stage.stage_3: "Stage 3"}

Pair = list  # [previous year, year reported]


def _pair() -> Pair:
    return [0, 0]


def _cell(values: Pair) -> Cell:
    return Cell(current=values[1], previous=values[0])


def _count_rows(rows: list[tuple[str, Pair]], whole: Pair | None = None, total: str | None = None) -> list[Row]:
    """Rows of [count, % of whole] (or [count] when no whole is given), with an optional total line."""
    out = []
    for label, values in rows:
        cells = [_cell(values)]
        if whole is not None:
            cells.append(Cell(pct(values[1], whole[1]), pct(values[0], whole[0])))
        out.append(Row(label, cells))
    if total is not None and whole is not None:
        out.append(Row(total, [_cell(whole), Cell(100.0 if whole[1] else None, 100.0 if whole[0] else None)], total=True))
    return out


def _year_of_day(day: date, fy: FinancialYear) -> int | None:
    if fy.previous.first_day <= day <= fy.previous.last_day:
        return 0
    return 1 if fy.first_day <= day <= fy.last_day else None


@dataclass
class _Responses:
    """One procedure's stage responses in the two years, by the day each was sent: working days
    taken (responses only), findings, and withdrawals (counted on their own, never as responses)."""

    days: dict[tuple[object, int], Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    outcomes: dict[object, dict[object, Pair]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(_pair)))
    withdrawn: dict[object, Pair] = field(default_factory=lambda: defaultdict(_pair))

    def band(self, stage: Stage, low: int, high: int | None) -> Pair:
        return [sum(n for d, n in self.days[(stage, y)].items() if low <= d and (high is None or d <= high)) for y in (0, 1)]

    def responded(self, stage: Stage) -> Pair:
        return [sum(self.days[(stage, y)].values()) for y in (0, 1)]

    def mean(self, stage: Stage) -> list[float | None]:
        out: list[float | None] = []
        for y in (0, 1):
            counts = self.days[(stage, y)]
            total = sum(counts.values())
            out.append(half_up(Decimal(sum(d * n for d, n in counts.items())) / Decimal(total)) if total else None)
        return out


def _responses(stages: list[tuple], procedure: Procedure, fy: FinancialYear, index: WorkingDayIndex) -> _Responses:
    got = _Responses()
    for stage, proc, started_on, responded_on, outcome, n in stages:
        y = _year_of_day(responded_on, fy) if responded_on else None
        if y is None or proc != procedure:
            continue
        if outcome == Outcome.withdrawn:
            got.withdrawn[stage][y] += n
            continue
        if stage in (Stage.initial_feedback, Stage.stage_1):
            days = index.since_receipt(started_on, responded_on)
        else:
            days = index.between(started_on, responded_on)
        got.days[(stage, y)][days] += n
        got.outcomes[stage][outcome][y] += n
    return got


PROCEDURE_NOTE = {
    "statutory": "Statutory procedure (Children Act 1989).",
    "corporate": "Corporate (non-statutory) procedure.",
    "both": "Both procedures.",
}


def _table(key: str, title: str, note: str, measures: list[Measure], rows: list[Row], *, procedure: str, **options: Any) -> Table:
    """A table whose note starts by naming the procedure it counts."""
    return Table(key, title, f"{PROCEDURE_NOTE[procedure]} {note}", measures, rows, procedure=procedure, **options)


def _withdrawn_row(resp: _Responses, stage: Stage, measures: int) -> Row:
    return Row("Withdrawn (not a response; not counted above)", [_cell(resp.withdrawn[stage])] + [Cell(None, None)] * (measures - 1), aside=True)


def _timeliness(resp: _Responses, t: Timescales, procedure: str, prefix: str, section: str) -> list[Table]:
    stages: dict[Stage, tuple[list[tuple[str, int, int | None]], str]] = {
        Stage.stage_1: ([(f"Within {t.stage_1} working days", 0, t.stage_1),
                         (f"{t.stage_1 + 1}–{t.stage_1_extended} working days", t.stage_1 + 1, t.stage_1_extended),
                         (f"Over {t.stage_1_extended} working days", t.stage_1_extended + 1, None)],
                        f"Working days from receipt to the stage 1 response. {t.stage_1} is the target; it may be extended once to {t.stage_1_extended}."),
        Stage.stage_2: ([(f"Within {t.stage_2} working days", 0, t.stage_2),
                         (f"{t.stage_2 + 1}–{t.stage_2_extended} working days", t.stage_2 + 1, t.stage_2_extended),
                         (f"Over {t.stage_2_extended} working days", t.stage_2_extended + 1, None)],
                        f"Working days from the request to the adjudication. {t.stage_2} is the target, extendable to at most {t.stage_2_extended}."),
    }
    if t.has_stage_3:
        total = (t.stage_3_panel or 0) + (t.stage_3_report or 0) + (t.stage_3_response or 0)
        stages[Stage.stage_3] = ([(f"Within {total} working days of the request", 0, total), (f"Over {total} working days", total + 1, None)],
                                 f"Working days from the request to the council's response to the review panel (panel {t.stage_3_panel}, report {t.stage_3_report}, response {t.stage_3_response}).")
    tables = []
    for stage, (bands, note) in stages.items():
        whole = resp.responded(stage)
        rows = _count_rows([(label, resp.band(stage, lo, hi)) for label, lo, hi in bands], whole, "Responded")
        rows.append(_withdrawn_row(resp, stage, 2))
        tables.append(_table(f"{prefix}timeliness_{stage.value}", f"{STAGE_NAMES[stage]}: time to respond", note + " Responses only: a withdrawn complaint is counted on its own line.",
                             [Measure("responses"), Measure("% of responses", "percent")], rows, procedure=procedure,
                             chart="bars" if stage is Stage.stage_1 and not prefix else None, section=section))
    return tables


def _outcome_tables(resp: _Responses, stages: tuple[Stage, ...], procedure: str, prefix: str, section: str) -> list[Table]:
    tables, upheld_rows = [], []
    for stage in stages:
        whole = resp.responded(stage)
        by = resp.outcomes[stage]
        found = [(label, by[o]) for o, label in OUTCOME_LABELS.items() if o is not Outcome.withdrawn]
        if any(by[None]):
            found.append(("No finding recorded", by[None]))
        rows = _count_rows(found, whole, "Responded")
        rows.append(_withdrawn_row(resp, stage, 2))
        tables.append(_table(f"{prefix}outcomes_{stage.value}", f"{STAGE_NAMES[stage]}: outcomes", "Responses sent in the year, by their finding; withdrawn complaints on their own line.",
                             [Measure("responses"), Measure("% of responses", "percent")], rows, procedure=procedure,
                             chart="hbars" if stage is Stage.stage_1 and not prefix else None, section=section))
        up = [by[Outcome.upheld][i] + by[Outcome.partially_upheld][i] for i in (0, 1)]
        upheld_rows.append(Row(STAGE_NAMES[stage], [_cell(up), Cell(pct(up[1], whole[1]), pct(up[0], whole[0]))]))
    tables.append(_table(f"{prefix}percentage_upheld", "Complaints upheld in full or in part", "Upheld and partially upheld, as a share of all responses at the stage.",
                         [Measure("upheld or partly"), Measure("% of responses", "percent")], upheld_rows, procedure=procedure, section=section))
    return tables


def _acknowledgements(acks: list[tuple], resp: _Responses, t: Timescales, procedure: Procedure, prefix: str, section: str) -> Table:
    ack = {status: _pair() for status in ("met", "missed")}
    for y, proc, status, n in acks:
        if proc == procedure:
            ack[str(status)][y] += n
    ack_whole = [ack["met"][i] + ack["missed"][i] for i in (0, 1)]
    rows = [
        Row(f"Acknowledged within {t.acknowledgement} working days", [_cell(ack["met"]), Cell(pct(ack["met"][1], ack_whole[1]), pct(ack["met"][0], ack_whole[0]))]),
        Row("Acknowledged late", [_cell(ack["missed"]), Cell(None, None)]),
    ]
    note = f"Representations received in the year (by the day received) whose acknowledgement was due within {t.acknowledgement} working days."
    if procedure is Procedure.statutory:
        if_whole = resp.responded(Stage.initial_feedback)
        if_on_time = resp.band(Stage.initial_feedback, 0, t.initial_feedback)
        rows += [
            Row(f"Initial feedback answered within {t.initial_feedback} working days", [_cell(if_on_time), Cell(pct(if_on_time[1], if_whole[1]), pct(if_on_time[0], if_whole[0]))]),
            Row("Initial feedback answered later", [_cell([if_whole[i] - if_on_time[i] for i in (0, 1)]), Cell(None, None)]),
        ]
        note += f" Initial feedback answered in the year, due within {t.initial_feedback}."
    return _table(f"{prefix}acknowledgements", "Acknowledgements" + (" and initial feedback on time" if procedure is Procedure.statutory else " on time"), note,
                  [Measure("number"), Measure("% on time", "percent")], rows, procedure=procedure.value, section=section)


def build_report(engine: Engine, policy: Policy, year: int, *, today: date, tz: ZoneInfo | None = None, suppress_below: int = 5,
                 years: int = 2) -> AnnualReport:
    """The annual report for the financial year starting 1 April `year`, beside the year before;
    with `years` > 2, a trend over that many years as well."""
    tz = tz or ZoneInfo("Europe/London")
    fy = FinancialYear(year)
    span = queries.Span(year - 1, tz)
    index = WorkingDayIndex.for_clock(Clock(policy))
    got = _fetch(engine, span)
    received, stages, acks, offers, flow = got["received"], got["stages"], got["acks"], got["offers"], got["flow"]
    teams, reasons, ethnicity = got["profile"]
    learnt, lessons = got["learning"]
    statutory, corporate = Procedure.statutory, Procedure.corporate

    kinds: dict[object, Pair] = defaultdict(_pair)
    source: dict[object, Pair] = defaultdict(_pair)
    roles: dict[object, Pair] = defaultdict(_pair)
    adr, paid, payments, young_voices = _pair(), _pair(), _pair(), _pair()
    complaints: dict[object, Pair] = defaultdict(_pair)
    for y, kind, procedure, enquiry, role, is_adr, n, pence, n_paid in received:
        kinds[(kind, procedure)][y] += n
        if enquiry:
            source[enquiry][y] += n
        if kind == Kind.complaint:
            complaints[procedure][y] += n
        if procedure != statutory:
            continue
        if kind == Kind.complaint:
            roles[role][y] += n
        if kind in (Kind.complaint, Kind.initial_feedback) and role in YOUNG:
            young_voices[y] += n
        adr[y] += n if is_adr else 0
        paid[y] += int(pence or 0)
        payments[y] += int(n_paid or 0)
    stage_started: dict[tuple[object, object], Pair] = defaultdict(_pair)
    for stage, procedure, started_on, _, _, n in stages:
        if (y := _year_of_day(started_on, fy)) is not None:
            stage_started[(stage, procedure)][y] += n

    tables: list[Table] = []
    both = [sum(kinds[(Kind.initial_feedback, p)][i] for p in Procedure) for i in (0, 1)]
    tables.append(_table("volumes", "Representations received", "Complaints are those of the statutory procedure, except the last line; initial feedback, compliments and enquiries are counted whatever the procedure. Stage 2 and 3 by the day the stage started; everything else by the day received.", [Measure("number")], [
        Row("Initial feedback (concerns)", [_cell(both)]),
        Row("Complaints at stage 1", [_cell(kinds[(Kind.complaint, statutory)])]),
        Row("Complaints at stage 2", [_cell(stage_started[(Stage.stage_2, statutory)])]),
        Row("Complaints at stage 3", [_cell(stage_started[(Stage.stage_3, statutory)])]),
        Row("Alternative dispute resolution (ADR)", [_cell(adr)]),
        Row("Ombudsman enquiries", [_cell([sum(v[i] for (s, _), v in stage_started.items() if s == Stage.ombudsman) for i in (0, 1)])]),
        Row("Compliments", [_cell([sum(kinds[(Kind.compliment, p)][i] for p in Procedure) for i in (0, 1)])]),
        Row("Councillor enquiries", [_cell(source["councillor"])]),
        Row("MP enquiries", [_cell(source["mp"])]),
        Row("Complaints under the corporate procedure", [_cell(kinds[(Kind.complaint, corporate)])]),
    ], procedure="both", chart="hbars", section="Volumes"))

    resp = _responses(stages, statutory, fy, index)
    t = policy.statutory
    tables += _timeliness(resp, t, "statutory", "", "Timeliness")
    tables.append(_acknowledgements(acks, resp, t, statutory, "", "Timeliness"))
    average = [Row(STAGE_NAMES[stage], [Cell(*reversed(resp.mean(stage)))]) for stage in (Stage.initial_feedback, Stage.stage_1, Stage.stage_2, Stage.stage_3)]
    tables.append(_table("average_days", "Average working days to respond", "The mean, over every response sent in the year (withdrawals are not responses).", [Measure("working days", "days")], average, procedure="statutory", section="Timeliness"))
    tables += _outcome_tables(resp, (Stage.stage_1, Stage.stage_2, Stage.stage_3), "statutory", "", "Outcomes")

    s1_resp, s2_resp = resp.responded(Stage.stage_1), resp.responded(Stage.stage_2)
    s2_start, s3_start = stage_started[(Stage.stage_2, statutory)], stage_started[(Stage.stage_3, statutory)]
    tables.append(_table("escalation", "Escalation between stages", "Stages started in the year, against the responses of the stage before in the same year.", [Measure("escalated"), Measure("% of the stage before", "percent")], [
        Row("Stage 1 to stage 2", [_cell(s2_start), Cell(pct(s2_start[1], s1_resp[1]), pct(s2_start[0], s1_resp[0]))]),
        Row("Stage 2 to stage 3", [_cell(s3_start), Cell(pct(s3_start[1], s2_resp[1]), pct(s3_start[0], s2_resp[0]))]),
    ], procedure="statutory", section="Outcomes"))

    tables.append(_by_team(teams, complaints, statutory))
    tables.append(_by_reason(reasons, complaints, statutory))
    young_total = [sum(roles[r][i] for r in YOUNG) for i in (0, 1)]
    tables.append(_table("children_and_young_people", "Complaints made by children, young people and care leavers", "By who made the complaint.", [Measure("complaints"), Measure("% of all complaints", "percent")], [
        *_count_rows([("Children and young people", roles[Role.child_or_young_person]), ("Care leavers", roles[Role.care_leaver])], complaints[statutory]),
        Row("Together", [_cell(young_total), Cell(pct(young_total[1], complaints[statutory][1]), pct(young_total[0], complaints[statutory][0]))], total=True),
    ], procedure="statutory", about_people=True, section="Children and young people"))
    offered, accepted = _pair(), _pair()
    for y, n_offered, n_yes in offers:
        offered[y], accepted[y] = n_offered, n_yes
    tables.append(_table("advocacy", "Advocacy offered and taken up", "Offers on representations received in the year. The first percentage is of the concerns and complaints raised by children, young people and care leavers; the second, of the offers made.", [Measure("number"), Measure("%", "percent")], [
        Row("Concerns and complaints from children, young people and care leavers", [_cell(young_voices), Cell(None, None)]),
        Row("Offered an advocate", [_cell(offered), Cell(pct(offered[1], young_voices[1]), pct(offered[0], young_voices[0]))]),
        Row("Took up the offer", [_cell(accepted), Cell(pct(accepted[1], offered[1]), pct(accepted[0], offered[0]))]),
    ], procedure="statutory", about_people=True, section="Children and young people"))

    tables.extend(_flow_tables(flow))
    compensation = _table("compensation", "Compensation and financial remedies", "Payments agreed on representations received in the year.", [Measure("value")], [
        Row("Complaints with a payment", [_cell(payments)]),
        Row("Total paid", [_cell(paid)], unit="money"),
    ], procedure="statutory", about_people=True, section="Remedies and learning")
    tables.append(compensation)
    tables.append(_table("learning", "Learning from upheld complaints", "Complaints upheld in full or in part (at any stage, responded in the year) with learning recorded.", [Measure("complaints")], [
        Row("Upheld complaints with learning recorded", [Cell(learnt[1][1], learnt[0][1])]),
    ], procedure="statutory", section="Remedies and learning"))
    tables.append(_ethnicity(ethnicity, complaints, statutory))

    if any(complaints[corporate]) or any(proc == corporate for _, proc, *_ in stages):
        tables += _corporate_tables(policy, stages, stage_started, acks, teams, reasons, complaints, fy, index)

    for table in tables:
        suppress(table, suppress_below)
    money = compensation.rows[1].cells[0]
    money.current_hidden |= 0 < payments[1] < suppress_below
    money.previous_hidden |= 0 < payments[0] < suppress_below
    report = AnnualReport(
        council=policy.council.name,
        year=fy,
        generated_on=today,
        suppress_below=suppress_below,
        tables=tables,
        lessons=[(publishable(text), n) for text, n in lessons],
        method=_method(fy, suppress_below),
    )
    if years > 2:
        from reports.trends import trend

        report.trend = trend(report, years, lambda y: build_report(engine, policy, y, today=today, tz=tz, suppress_below=suppress_below))
    return report


def _corporate_tables(policy: Policy, stages: list[tuple], stage_started: dict, acks: list[tuple], teams: list[tuple], reasons: list[tuple],
                      complaints: dict[object, Pair], fy: FinancialYear, index: WorkingDayIndex) -> list[Table]:
    """The council's non-statutory complaints, in a section of their own, timed by its own timescales."""
    corporate, section = Procedure.corporate, "Corporate procedure"
    resp = _responses(stages, corporate, fy, index)
    t = policy.corporate
    tables = [_table("corporate_volumes", "Corporate complaints received", "Stage 1 by the day received; stage 2 by the day it started.", [Measure("number")], [
        Row("Complaints at stage 1", [_cell(complaints[corporate])]),
        Row("Complaints at stage 2", [_cell(stage_started[(Stage.stage_2, corporate)])]),
    ], procedure="corporate", section=section)]
    tables += _timeliness(resp, t, "corporate", "corporate_", section)
    tables.append(_acknowledgements(acks, resp, t, corporate, "corporate_", section))
    tables += _outcome_tables(resp, (Stage.stage_1, Stage.stage_2), "corporate", "corporate_", section)
    tables.append(_by_team(teams, complaints, corporate, prefix="corporate_", section=section))
    tables.append(_by_reason(reasons, complaints, corporate, prefix="corporate_", section=section))
    return tables


def _fetch(engine: Engine, span: queries.Span) -> dict[str, Any]:
    """Run the report's queries, two at a time on connections of their own (the database does
    the work, so two cores halve the wait)."""
    jobs: dict[str, Callable[[Connection], Any]] = {
        "stages": lambda c: queries.stages(c, span),
        "received": lambda c: queries.received(c, span),
        "profile": lambda c: queries.complaints_profile(c, span),
        "flow": lambda c: queries.stage_1_flow(c, span),
        "acks": lambda c: queries.acknowledgements(c, span),
        "learning": lambda c: queries.learning(c, span),
        "offers": lambda c: queries.advocacy(c, span),
    }

    def run(job: Callable[[Connection], Any]) -> Any:
        with engine.connect() as conn:
            return job(conn)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="report") as pool:
        futures = {name: pool.submit(run, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _by_team(rows: list[tuple], complaints: dict[object, Pair], procedure: Procedure, *, prefix: str = "", section: str = "Teams and reasons") -> Table:
    counts: dict[str, Pair] = defaultdict(_pair)
    for y, proc, name, n in rows:
        if proc == procedure:
            counts[name or "No team recorded"][y] += n
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] == "No team recorded", -kv[1][1], -kv[1][0], kv[0]))
    return _table(f"{prefix}by_team", "Complaints by team", "Complaints received, by the team or service area answering them.", [Measure("complaints"), Measure("% of complaints", "percent")],
                  _count_rows(ordered, complaints[procedure], "All complaints"), procedure=procedure.value, chart=None if prefix else "hbars", section=section)


def _by_reason(rows: list[tuple], complaints: dict[object, Pair], procedure: Procedure, *, prefix: str = "", section: str = "Teams and reasons") -> Table:
    counts: dict[str, Pair] = defaultdict(_pair)
    for y, proc, code, n in rows:
        if proc == procedure:
            counts[code][y] += n
    ordered = [(label, counts[str(code)]) for code, label in REASON_LABELS.items() if code != "not_recorded" or any(counts["not_recorded"])]
    return _table(f"{prefix}by_reason", "Complaints by reason", "A complaint with several reasons counts under each, so the figures add up to more than the number of complaints; percentages are of complaints.",
                  [Measure("complaints"), Measure("% of complaints", "percent")], _count_rows(ordered, complaints[procedure]), procedure=procedure.value,
                  chart=None if prefix else "hbars", section=section)


def _ethnicity(rows: list[tuple], complaints: dict[object, Pair], procedure: Procedure) -> Table:
    counts: dict[str, Pair] = defaultdict(_pair)
    for y, proc, text, n in rows:
        if proc != procedure:
            continue
        label = " ".join((text or "").split())
        counts[label[:1].upper() + label[1:] if label else "Not recorded"][y] += n
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] == "Not recorded", -kv[1][1], kv[0]))
    return _table("ethnicity", "Equalities: ethnicity of the children concerned", "Complaints received, by the recorded ethnicity of the child the complaint is about.", [Measure("complaints"), Measure("% of complaints", "percent")],
                  _count_rows(ordered, complaints[procedure], "All complaints"), procedure=procedure.value, about_people=True, section="Equalities")


def _flow_tables(flow: list[tuple]) -> list[Table]:
    """Stage 1 complaints month by month and quarter by quarter: received, responded, withdrawn,
    and carried forward (received but not yet answered at the end of the period)."""
    received, responded, withdrawn = [0] * 26, [0] * 26, [0] * 26
    for arrived, finished, was_withdrawn, n in flow:
        received[arrived] += n
        (withdrawn if was_withdrawn else responded)[finished] += n
    open_at = [sum(n for a, f, _, n in flow if a <= m < f) for m in range(26)]
    measures = [Measure("received"), Measure("responded"), Measure("withdrawn"), Measure("carried forward")]

    def row(label: str, months: list[int], total: bool = False) -> Row:
        def values(series: list[int], last: bool) -> Cell:
            pick = (lambda offset: series[months[-1] + offset]) if last else (lambda offset: sum(series[m + offset] for m in months))
            return Cell(pick(12), pick(0))

        return Row(label, [values(received, False), values(responded, False), values(withdrawn, False), values(open_at, True)], total=total)

    monthly = [row(name, [i + 1]) for i, name in enumerate(MONTHS)] + [row("Year", list(range(1, 13)), total=True)]
    quarterly = [row(name, [3 * q + 1, 3 * q + 2, 3 * q + 3]) for q, name in enumerate(QUARTERS)] + [row("Year", list(range(1, 13)), total=True)]
    note = "Complaints at stage 1. Responded counts responses only; withdrawn counts complaints withdrawn or closed without a response; carried forward is what was still unanswered at the end of the period."
    return [
        _table("monthly", "Stage 1 complaints month by month", note, measures, monthly, procedure="statutory", chart="lines", section="Month by month"),
        _table("quarterly", "Stage 1 complaints quarter by quarter", note, measures, quarterly, procedure="statutory", section="Month by month"),
    ]


def _method(fy: FinancialYear, threshold: int) -> list[str]:
    """"How these figures are counted": one line for each kind of figure, in plain words."""
    return [
        f"The year is the financial year {fy.first_day:%-d %B %Y} to {fy.last_day:%-d %B %Y}; each figure is shown beside the year before ({fy.previous.label}) and the difference.",
        "Procedures: every table says which complaints it counts. Stages, timeliness, outcomes, teams, reasons, who complained, advocacy, compensation, learning and ethnicity count the statutory children's social care procedure (Children Act 1989) only. Complaints the council handled under its corporate procedure have a section of their own, timed by the corporate timescales. Initial feedback, compliments and councillor and MP enquiries are counted whatever the procedure.",
        "Received: representations are counted by the day they were received; stages 2 and 3 by the day the stage started. Representations an officer has not yet triaged (with no kind) are left out until they are; merged duplicates are counted once.",
        "Acknowledgements: counted by the day the representation was received, once the acknowledgement is decided (sent on time, or late); one still not due when the report is made is not counted yet.",
        "Responses: timeliness, outcomes, averages, the share upheld and escalation count responses sent in the year, by the day each was sent. A withdrawn complaint is not a response: it is counted on its own line, in the month it was withdrawn, and never in the time to respond.",
        "Working days leave out weekends, bank holidays in England and Wales and the council's closure days. The count starts on the day a representation is received (day 0), or the next working day when it arrives on a day the council is closed. Stages 2 and 3 count from the day the stage was requested.",
        "Month by month: received by the day received; responded by the day of the stage 1 response; withdrawn by the day it was withdrawn or the case closed without a response; carried forward is what was still unanswered at the end of the month.",
        "Percentages are of the figure the table names, to one decimal place, with halves rounded up (31.25 shows as 31.3), as spreadsheets round.",
        f"No figure identifies a person. In the tables about people (who complained, advocacy, compensation, ethnicity), counts from 1 to {threshold - 1} are shown as <{threshold}, with their percentages withheld; when that would leave one hidden count in a column, the next smallest is hidden too; a total paid to fewer than {threshold} people is withheld.",
        "Learning is quoted as officers recorded it for publication, with any reference numbers, email addresses, phone numbers and postcodes removed.",
    ]
