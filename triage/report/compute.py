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
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from models.enums import Kind, Outcome, Procedure, Reason, Role, Stage
from scheduler.clock import Clock
from scheduler.policy import Policy
from triage.report import queries
from triage.report.model import AnnualReport, Cell, FinancialYear, Measure, Row, Table, pct, publishable, suppress
from triage.report.workdays import WorkingDayIndex

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


def build_report(engine: Engine, policy: Policy, year: int, *, today: date, tz: ZoneInfo | None = None, suppress_below: int = 5) -> AnnualReport:
    """The annual report for the financial year starting 1 April `year`, beside the year before."""
    tz = tz or ZoneInfo("Europe/London")
    fy = FinancialYear(year)
    span = queries.Span(year - 1, tz)
    index = WorkingDayIndex.for_clock(Clock(policy))
    t = policy.statutory
    got = _fetch(engine, span)
    received, stages, acks, offers, flow = got["received"], got["stages"], got["acks"], got["offers"], got["flow"]
    teams, reasons, ethnicity = got["profile"]
    learnt, lessons = got["learning"]

    kinds: dict[object, Pair] = defaultdict(_pair)
    source: dict[object, Pair] = defaultdict(_pair)
    roles: dict[object, Pair] = defaultdict(_pair)
    adr, paid, payments, complaints, young_voices = _pair(), _pair(), _pair(), _pair(), _pair()
    for y, kind, procedure, enquiry, role, is_adr, n, pence, n_paid in received:
        kinds[(kind, procedure)][y] += n
        if enquiry:
            source[enquiry][y] += n
        if kind == Kind.complaint:
            roles[role][y] += n
            complaints[y] += n
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
    statutory = Procedure.statutory
    tables.append(Table("volumes", "Representations received", "Stage 2 and 3 by the day the stage started; everything else by the day received.", [Measure("number")], [
        Row("Initial feedback (concerns)", [_cell([sum(kinds[(Kind.initial_feedback, p)][i] for p in Procedure) for i in (0, 1)])]),
        Row("Complaints at stage 1", [_cell(kinds[(Kind.complaint, statutory)])]),
        Row("Complaints at stage 2", [_cell(stage_started[(Stage.stage_2, statutory)])]),
        Row("Complaints at stage 3", [_cell(stage_started[(Stage.stage_3, statutory)])]),
        Row("Alternative dispute resolution (ADR)", [_cell(adr)]),
        Row("Ombudsman enquiries", [_cell([sum(v[i] for (s, _), v in stage_started.items() if s == Stage.ombudsman) for i in (0, 1)])]),
        Row("Compliments", [_cell([sum(kinds[(Kind.compliment, p)][i] for p in Procedure) for i in (0, 1)])]),
        Row("Councillor enquiries", [_cell(source["councillor"])]),
        Row("MP enquiries", [_cell(source["mp"])]),
        Row("Complaints under the corporate procedure", [_cell(kinds[(Kind.complaint, Procedure.corporate)])]),
    ], chart="hbars", section="Volumes"))

    # Timeliness and outcomes, by the day of the response (statutory procedure).
    days_by_stage: dict[object, Counter[int]] = defaultdict(Counter)
    outcomes: dict[object, dict[object, Pair]] = defaultdict(lambda: defaultdict(_pair))
    for stage, procedure, started_on, responded_on, outcome, n in stages:
        y = _year_of_day(responded_on, fy) if responded_on else None
        if y is None or procedure != statutory:
            continue
        if stage in (Stage.initial_feedback, Stage.stage_1):
            days = index.since_receipt(started_on, responded_on)
        else:
            days = index.between(started_on, responded_on)
        days_by_stage[(stage, y)][days] += n
        outcomes[stage][outcome][y] += n

    def band(stage: Stage, low: int, high: int | None) -> Pair:
        return [sum(n for d, n in days_by_stage[(stage, y)].items() if low <= d and (high is None or d <= high)) for y in (0, 1)]

    def responded(stage: Stage) -> Pair:
        return [sum(days_by_stage[(stage, y)].values()) for y in (0, 1)]

    stage_3_total = (t.stage_3_panel or 0) + (t.stage_3_report or 0) + (t.stage_3_response or 0)
    limits = {
        Stage.stage_1: [(f"Within {t.stage_1} working days", 0, t.stage_1), (f"{t.stage_1 + 1}–{t.stage_1_extended} working days", t.stage_1 + 1, t.stage_1_extended), (f"Over {t.stage_1_extended} working days", t.stage_1_extended + 1, None)],
        Stage.stage_2: [(f"Within {t.stage_2} working days", 0, t.stage_2), (f"{t.stage_2 + 1}–{t.stage_2_extended} working days", t.stage_2 + 1, t.stage_2_extended), (f"Over {t.stage_2_extended} working days", t.stage_2_extended + 1, None)],
        Stage.stage_3: [(f"Within {stage_3_total} working days of the request", 0, stage_3_total), (f"Over {stage_3_total} working days", stage_3_total + 1, None)],
    }
    notes = {
        Stage.stage_1: f"Working days from receipt to the stage 1 response. {t.stage_1} is the target; it may be extended once to {t.stage_1_extended}.",
        Stage.stage_2: f"Working days from the request to the adjudication. {t.stage_2} is the target, extendable to at most {t.stage_2_extended}.",
        Stage.stage_3: f"Working days from the request to the council's response to the review panel (panel {t.stage_3_panel}, report {t.stage_3_report}, response {t.stage_3_response}).",
    }
    for stage, bands in limits.items():
        whole = responded(stage)
        rows = _count_rows([(label, band(stage, lo, hi)) for label, lo, hi in bands], whole, "Responded")
        tables.append(Table(f"timeliness_{stage.value}", f"{STAGE_NAMES[stage]}: time to respond", notes[stage], [Measure("responses"), Measure("% of responses", "percent")], rows, chart="bars" if stage is Stage.stage_1 else None, section="Timeliness"))

    ack = {status: _pair() for status in ("met", "missed")}
    for y, status, n in acks:
        ack[str(status)][y] += n
    ack_whole = [ack["met"][i] + ack["missed"][i] for i in (0, 1)]
    if_whole = responded(Stage.initial_feedback)
    if_on_time = band(Stage.initial_feedback, 0, t.initial_feedback)
    tables.append(Table("acknowledgements", "Acknowledgements and initial feedback on time", f"Acknowledgement due within {t.acknowledgement} working days of receipt; initial feedback within {t.initial_feedback}.", [Measure("number"), Measure("% on time", "percent")], [
        Row(f"Acknowledged within {t.acknowledgement} working days", [_cell(ack["met"]), Cell(pct(ack["met"][1], ack_whole[1]), pct(ack["met"][0], ack_whole[0]))]),
        Row("Acknowledged late", [_cell(ack["missed"]), Cell(None, None)]),
        Row(f"Initial feedback answered within {t.initial_feedback} working days", [_cell(if_on_time), Cell(pct(if_on_time[1], if_whole[1]), pct(if_on_time[0], if_whole[0]))]),
        Row("Initial feedback answered later", [_cell([if_whole[i] - if_on_time[i] for i in (0, 1)]), Cell(None, None)]),
    ], section="Timeliness"))

    average = []
    for stage in (Stage.initial_feedback, Stage.stage_1, Stage.stage_2, Stage.stage_3):
        means = [round(sum(d * n for d, n in days_by_stage[(stage, y)].items()) / max(1, sum(days_by_stage[(stage, y)].values())), 1) if days_by_stage[(stage, y)] else None for y in (0, 1)]
        average.append(Row(STAGE_NAMES[stage], [Cell(means[1], means[0])]))
    tables.append(Table("average_days", "Average working days to respond", "The mean, over every response sent in the year.", [Measure("working days", "days")], average, section="Timeliness"))

    upheld_rows = []
    for stage in (Stage.stage_1, Stage.stage_2, Stage.stage_3):
        whole = responded(stage)
        by = outcomes[stage]
        rows = _count_rows([(label, by[o]) for o, label in OUTCOME_LABELS.items()], whole, "Responded")
        tables.append(Table(f"outcomes_{stage.value}", f"{STAGE_NAMES[stage]}: outcomes", "Responses sent in the year, by their finding.", [Measure("responses"), Measure("% of responses", "percent")], rows, chart="hbars" if stage is Stage.stage_1 else None, section="Outcomes"))
        up = [by[Outcome.upheld][i] + by[Outcome.partially_upheld][i] for i in (0, 1)]
        upheld_rows.append(Row(STAGE_NAMES[stage], [_cell(up), Cell(pct(up[1], whole[1]), pct(up[0], whole[0]))]))
    tables.append(Table("percentage_upheld", "Complaints upheld in full or in part", "Upheld and partially upheld, as a share of all responses at the stage.", [Measure("upheld or partly"), Measure("% of responses", "percent")], upheld_rows, section="Outcomes"))

    s1_resp, s2_resp = responded(Stage.stage_1), responded(Stage.stage_2)
    s2_start, s3_start = stage_started[(Stage.stage_2, statutory)], stage_started[(Stage.stage_3, statutory)]
    tables.append(Table("escalation", "Escalation between stages", "Stages started in the year, against the responses of the stage before in the same year.", [Measure("escalated"), Measure("% of the stage before", "percent")], [
        Row("Stage 1 to stage 2", [_cell(s2_start), Cell(pct(s2_start[1], s1_resp[1]), pct(s2_start[0], s1_resp[0]))]),
        Row("Stage 2 to stage 3", [_cell(s3_start), Cell(pct(s3_start[1], s2_resp[1]), pct(s3_start[0], s2_resp[0]))]),
    ], section="Outcomes"))

    tables.append(_by_team(teams, complaints))
    tables.append(_by_reason(reasons, complaints))
    young_total = [sum(roles[r][i] for r in YOUNG) for i in (0, 1)]
    tables.append(Table("children_and_young_people", "Complaints made by children, young people and care leavers", "By who made the complaint.", [Measure("complaints"), Measure("% of all complaints", "percent")], [
        *_count_rows([("Children and young people", roles[Role.child_or_young_person]), ("Care leavers", roles[Role.care_leaver])], complaints),
        Row("Together", [_cell(young_total), Cell(pct(young_total[1], complaints[1]), pct(young_total[0], complaints[0]))], total=True),
    ], about_people=True, section="Children and young people"))
    offered, accepted = _pair(), _pair()
    for y, n_offered, n_yes in offers:
        offered[y], accepted[y] = n_offered, n_yes
    tables.append(Table("advocacy", "Advocacy offered and taken up", "Offers on representations received in the year. The first percentage is of the concerns and complaints raised by children, young people and care leavers; the second, of the offers made.", [Measure("number"), Measure("%", "percent")], [
        Row("Concerns and complaints from children, young people and care leavers", [_cell(young_voices), Cell(None, None)]),
        Row("Offered an advocate", [_cell(offered), Cell(pct(offered[1], young_voices[1]), pct(offered[0], young_voices[0]))]),
        Row("Took up the offer", [_cell(accepted), Cell(pct(accepted[1], offered[1]), pct(accepted[0], offered[0]))]),
    ], about_people=True, section="Children and young people"))

    tables.extend(_flow_tables(flow))
    compensation = Table("compensation", "Compensation and financial remedies", "Payments agreed on representations received in the year.", [Measure("value")], [
        Row("Complaints with a payment", [_cell(payments)]),
        Row("Total paid", [_cell(paid)], unit="money"),
    ], about_people=True, section="Remedies and learning")
    tables.append(compensation)
    tables.append(Table("learning", "Learning from upheld complaints", "Complaints upheld in full or in part (at any stage, responded in the year) with learning recorded.", [Measure("complaints")], [
        Row("Upheld complaints with learning recorded", [Cell(learnt[1][1], learnt[0][1])]),
    ], section="Remedies and learning"))
    tables.append(_ethnicity(ethnicity, complaints))

    for table in tables:
        suppress(table, suppress_below)
    money = compensation.rows[1].cells[0]
    money.current_hidden |= 0 < payments[1] < suppress_below
    money.previous_hidden |= 0 < payments[0] < suppress_below
    return AnnualReport(
        council=policy.council.name,
        year=fy,
        generated_on=today,
        suppress_below=suppress_below,
        tables=tables,
        lessons=[(publishable(text), n) for text, n in lessons],
        method=_method(fy, suppress_below),
    )


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


def _by_team(rows: list[tuple], complaints: Pair) -> Table:
    counts: dict[str, Pair] = defaultdict(_pair)
    for y, name, n in rows:
        counts[name or "No team recorded"][y] += n
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] == "No team recorded", -kv[1][1], -kv[1][0], kv[0]))
    return Table("by_team", "Complaints by team", "Complaints received, by the team or service area answering them.", [Measure("complaints"), Measure("% of complaints", "percent")], _count_rows(ordered, complaints, "All complaints"), chart="hbars", section="Teams and reasons")


def _by_reason(rows: list[tuple], complaints: Pair) -> Table:
    counts: dict[str, Pair] = defaultdict(_pair)
    for y, code, n in rows:
        counts[code][y] += n
    ordered = [(label, counts[str(code)]) for code, label in REASON_LABELS.items() if code != "not_recorded" or any(counts["not_recorded"])]
    return Table("by_reason", "Complaints by reason", "A complaint with several reasons counts under each, so the figures add up to more than the number of complaints; percentages are of complaints.", [Measure("complaints"), Measure("% of complaints", "percent")], _count_rows(ordered, complaints), chart="hbars", section="Teams and reasons")


def _ethnicity(rows: list[tuple], complaints: Pair) -> Table:
    counts: dict[str, Pair] = defaultdict(_pair)
    for y, text, n in rows:
        label = " ".join((text or "").split())
        counts[label[:1].upper() + label[1:] if label else "Not recorded"][y] += n
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] == "Not recorded", -kv[1][1], kv[0]))
    return Table("ethnicity", "Equalities: ethnicity of the children concerned", "Complaints received, by the recorded ethnicity of the child the complaint is about.", [Measure("complaints"), Measure("% of complaints", "percent")], _count_rows(ordered, complaints, "All complaints"), about_people=True, section="Equalities")


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
    note = "Complaints (both procedures) at stage 1. Withdrawn includes complaints closed without a response; carried forward is what was still unanswered at the end of the period."
    return [
        Table("monthly", "Stage 1 complaints month by month", note, measures, monthly, chart="lines", section="Month by month"),
        Table("quarterly", "Stage 1 complaints quarter by quarter", note, measures, quarterly, section="Month by month"),
    ]


def _method(fy: FinancialYear, threshold: int) -> list[str]:
    return [
        f"The year is the financial year {fy.first_day:%-d %B %Y} to {fy.last_day:%-d %B %Y}; each figure is shown beside the year before ({fy.previous.label}) and the difference.",
        "Representations are counted by the day they were received; stages 2 and 3 by the day the stage started; timeliness and outcomes by the day the response was sent. Representations an officer has not yet triaged (with no kind) are left out until they are; merged duplicates are counted once.",
        "Working days leave out weekends, bank holidays in England and Wales and the council's closure days. The count starts on the day a representation is received (day 0), or the next working day when it arrives on a day the council is closed.",
        "Stages, timeliness and outcomes are those of the statutory children's social care procedure (Children Act 1989); complaints handled under the council's corporate procedure are counted on their own line.",
        f"No figure identifies a person. In the tables about people (who complained, advocacy, compensation, ethnicity), counts from 1 to {threshold - 1} are shown as <{threshold}, with their percentages withheld; when that would leave one hidden count in a column, the next smallest is hidden too; a total paid to fewer than {threshold} people is withheld.",
        "Learning is quoted as officers recorded it for publication, with any reference numbers, email addresses, phone numbers and postcodes removed.",
    ]
