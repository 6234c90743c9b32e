"""`heard import`: historic representations from CSV, all or nothing, every bad row named."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from models import Advocacy, AuditEvent, Case, Deadline, StageRecord, Team
from models.enums import AdvocacyAnswer, CaseStatus, DeadlineKind, DeadlineStatus, Kind, Outcome, Stage
from scheduler import CaseEvents, Clock, WorkingDayCalendar, load_policy
from tests.helpers import ROOT, heard_env
from triage.intake import next_reference
from reports.importer import ImportFailed, import_csv
from reports.layout import COLUMNS, RowError, RowReader
from reports.workdays import WorkingDayIndex

SAMPLE = ROOT / "tests" / "data" / "report_sample.csv"
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 5, 15, 9, tzinfo=UTC)
CLOCK = Clock(load_policy())


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def complaint(reference: str, **values: str) -> dict[str, str]:
    row = {
        "reference": reference,
        "kind": "complaint",
        "received_on": "2025-06-02",
        "complainant_role": "parent_or_family",
        "team": "Fostering",
        "reasons": "communication",
        "acknowledged_on": "2025-06-03",
        "stage_1_responded_on": "2025-06-12",
        "stage_1_outcome": "upheld",
    }
    row.update(values)
    return row


def run_import(engine, path: Path, **kwargs) -> object:  # type: ignore[no-untyped-def]
    return import_csv(engine, path, clock=CLOCK, tz=LONDON, now=NOW, **kwargs)


def count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.exec(select(sa.func.count()).select_from(model)).one()


def test_it_imports_the_documented_sample_with_stages_deadlines_and_advocacy(engine) -> None:  # type: ignore[no-untyped-def]
    with SAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    result = run_import(engine, SAMPLE)
    assert result.imported == len(rows) == count(engine, Case)
    complaints = [r for r in rows if r["kind"] == "complaint"]
    second = [r for r in rows if r["stage_2_requested_on"]]
    assert count(engine, StageRecord) == sum(1 for r in rows if r["kind"] != "compliment") + len(second) + sum(1 for r in rows if r["stage_3_requested_on"])
    assert count(engine, Advocacy) == sum(1 for r in rows if r["advocacy_offered"] == "yes")
    with Session(engine) as session:
        acks = session.exec(select(Deadline).where(Deadline.kind == DeadlineKind.acknowledgement)).all()
        assert len(acks) == sum(1 for r in rows if r["acknowledged_on"])
        assert {a.status for a in acks} == {DeadlineStatus.met, DeadlineStatus.missed}
        assert all((a.status is DeadlineStatus.met) == (a.met_on <= a.due_on) for a in acks)
        teams = {t.name for t in session.exec(select(Team))}
        assert teams == {r["team"] for r in rows}
        assert session.exec(select(sa.func.count()).select_from(Case).where(Case.kind == Kind.complaint)).one() == len(complaints)
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).one()
        assert audit.detail["imported"] == len(rows)


def test_an_imported_case_keeps_every_column_of_its_row(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    row = complaint(
        "OLD-0001",
        received_on="20/06/2025",
        acknowledged_on="23/06/2025",
        complainant_role="care leaver",
        enquiry_source="mp",
        channel="webchat",
        team="Leaving Care",
        reasons="finance; delay",
        stage_1_responded_on="2025-07-18",
        stage_1_outcome="Partially upheld",
        stage_1_extension_reason="arranging an advocate",
        stage_2_requested_on="2025-07-25",
        stage_2_responded_on="2025-08-29",
        stage_2_outcome="upheld",
        adr="yes",
        advocacy_offered="yes",
        advocacy_answer="asked_what",
        compensation="£1,250.50",
        child_ethnicity="Mixed White and Asian",
        learning="Leaving care grant explained at the pathway plan review.",
    )
    run_import(engine, write_csv(tmp_path / "one.csv", [row]))
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert (case.kind, case.reasons, case.primary_reason, case.complainant_role, case.enquiry_source) == (Kind.complaint, ["finance", "delay"], "finance", "care_leaver", "mp")
        assert (case.stage, case.status, case.channel, case.adr, case.compensation_pence) == (Stage.stage_2, CaseStatus.closed, "webchat", True, 125050)
        assert case.received_at.astimezone(LONDON).date() == date(2025, 6, 20)
        assert case.closed_at.astimezone(LONDON).date() == date(2025, 8, 29)
        assert case.child_ethnicity == "Mixed White and Asian" and case.learning.startswith("Leaving care grant")
        stages = {s.stage: s for s in session.exec(select(StageRecord))}
        assert stages[Stage.stage_1].outcome is Outcome.partially_upheld and stages[Stage.stage_2].started_on == date(2025, 7, 25)
        deadlines = {d.kind: d for d in session.exec(select(Deadline))}
        extended = deadlines[DeadlineKind.stage_1]
        expected = CLOCK.deadlines(CaseEvents(received_on=date(2025, 6, 20), stage_1_extended=True))[1]
        assert (extended.due_on, extended.explanation) == (expected.due_on, expected.explanation)
        assert extended.original_due_on == CLOCK.deadlines(CaseEvents(received_on=date(2025, 6, 20)))[1].due_on
        assert extended.extension_reason == "arranging an advocate"
        assert deadlines[DeadlineKind.stage_2].status is DeadlineStatus.met
        assert session.exec(select(Advocacy)).one().answer is AdvocacyAnswer.asked_what
        team = session.get(Team, case.team_id)
        assert team is not None and team.name == "Leaving Care"


def test_an_unanswered_complaint_stays_open_with_its_clock_running(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(engine, write_csv(tmp_path / "open.csv", [complaint("OPEN-1", received_on="2026-05-11", acknowledged_on="", stage_1_responded_on="", stage_1_outcome="")]))
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert case.status is CaseStatus.open and case.closed_at is None
        deadline = session.exec(select(Deadline)).one()
        assert (deadline.kind, deadline.status) == (DeadlineKind.stage_1, DeadlineStatus.open)


def test_a_bad_row_is_reported_by_line_and_nothing_is_imported(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [complaint("A-1"), complaint("A-2", stage_1_outcome="sort of"), complaint("A-3"), complaint("A-4", received_on="2025-02-30")]
    with pytest.raises(ImportFailed) as failed:
        run_import(engine, write_csv(tmp_path / "bad.csv", rows), chunk_size=1)
    assert failed.value.result is not None and failed.value.result.errors == [
        (3, "stage_1_outcome 'sort of' is not one of: upheld, partially_upheld, not_upheld, withdrawn, no_finding, outside_jurisdiction"),
        (5, "received_on '2025-02-30' is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
    ]
    assert count(engine, Case) == count(engine, StageRecord) == count(engine, Deadline) == count(engine, Team) == 0


def test_skip_bad_keeps_the_good_rows_and_lists_the_bad(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [complaint("A-1"), complaint("A-2", reasons="rudeness"), complaint("A-3"), complaint("A-1")]
    result = run_import(engine, write_csv(tmp_path / "some.csv", rows), skip_bad=True)
    assert result.imported == 2 == count(engine, Case)
    assert [line for line, _ in result.errors] == [3, 5]
    assert "'rudeness' is not a reason code" in result.errors[0][1]
    assert result.errors[1][1] == "reference A-1 appears earlier in the file"


def test_a_reference_already_in_the_case_record_is_a_bad_row(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "twice.csv", [complaint("A-1"), complaint("A-2")])
    run_import(engine, path)
    with pytest.raises(ImportFailed) as failed:
        run_import(engine, path)
    assert failed.value.result.errors == [(2, "reference A-1 is already in the case record"), (3, "reference A-2 is already in the case record")]
    assert count(engine, Case) == 2


def test_a_wrong_header_stops_before_any_row(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "header.csv"
    path.write_text("reference,kind,received,team\nA-1,complaint,2025-06-02,Fostering\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"line 1: unknown column 'received'"):
        run_import(engine, path)
    path.write_text("reference,kind,team\nA-1,complaint,Fostering\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"missing required column 'received_on'"):
        run_import(engine, path)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"kind": "grumble"}, "kind 'grumble' is not one of: initial_feedback, complaint, compliment"),
        ({"received_on": "2027-01-04"}, "received_on 2027-01-04 is in the future"),
        ({"stage_1_responded_on": "2025-05-30"}, "stage_1_responded_on 2025-05-30 is before received_on 2025-06-02"),
        ({"stage_1_outcome": ""}, "stage_1_outcome is empty; a stage response needs both its date and its outcome"),
        ({"stage_1_responded_on": "", "stage_1_outcome": "", "stage_2_requested_on": "2025-07-01"}, "stage_2_requested_on is given but stage 1 has no response date"),
        ({"stage_2_responded_on": "2025-08-01", "stage_2_outcome": "upheld"}, "stage_2_responded_on is given but stage_2_requested_on is empty"),
        ({"stage_reached": "stage_3"}, "stage_reached is stage_3 but the stage columns filled go to stage_1"),
        ({"kind": "compliment"}, "stage_1_responded_on is given for a compliment, which has no stages"),
        ({"advocacy_answer": "yes"}, "advocacy_answer is given but advocacy_offered is not yes"),
        ({"adr": "maybe"}, "adr 'maybe' must be yes or no"),
        ({"compensation": "£12.345"}, "compensation '£12.345' is not an amount in pounds (e.g. 250 or 250.00)"),
        ({"reference": ""}, "reference is empty"),
        ({"acknowledged_on": "2025-06-01"}, "acknowledged_on 2025-06-01 is before received_on 2025-06-02"),
    ],
)
def test_each_mistake_in_a_row_gets_a_reason_naming_its_column(values: dict[str, str], reason: str) -> None:
    row = dict.fromkeys(COLUMNS, "") | complaint("A-1") | values
    with pytest.raises(RowError) as error:
        RowReader(today=date(2026, 5, 15)).read(row)
    assert str(error.value) == reason


def test_a_spreadsheet_saved_by_excel_imports(sqlite_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Excel writes a byte-order mark, Windows-1252 text and UK dates."""
    text = "reference,kind,received_on,team,child_ethnicity\r\nX-1,compliment,03/11/2025,Café Team,Any other\r\n\r\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("cp1252"))
    assert run_import(sqlite_engine, path).imported == 1
    with Session(sqlite_engine) as session:
        assert session.exec(select(Team.name)).one() == "Café Team"
        assert session.exec(select(Case)).one().received_at.astimezone(LONDON).date() == date(2025, 11, 3)


def test_imported_references_in_heards_form_are_never_issued_again(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(engine, write_csv(tmp_path / "ours.csv", [complaint(f"CSC-2026-000{n}", received_on="2026-01-05", acknowledged_on="", stage_1_responded_on="2026-01-09") for n in ("41", "07")]))
    with Session(engine) as session:
        assert next_reference(session, 2026) == "CSC-2026-00042"
        assert next_reference(session, 2025) == "CSC-2025-00001"


def test_the_working_day_index_agrees_with_the_calendar_and_the_clock() -> None:
    calendar = WorkingDayCalendar({date(2026, 12, 24): "council closure"})
    index = WorkingDayIndex(calendar)
    clock = Clock(load_policy(), calendar)
    rng = random.Random(5)
    for _ in range(400):
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(1200))
        end = start + timedelta(days=rng.randrange(-5, 120))
        days = rng.randrange(0, 70)
        assert index.between(start, end) == calendar.working_days_between(start, end)
        assert index.add(start, days) == calendar.add_working_days(start, days).end
        assert index.day_zero(start) == clock.day_zero(start)[0]


def test_heard_import_prints_each_bad_line_and_exits_1(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "cli.csv", [complaint("A-1"), complaint("A-2", team="x" * 121, kind="praise")])
    url = engine.url.render_as_string(hide_password=False)
    result = _heard("import", str(path), database_url=url)
    assert result.returncode == 1
    assert "line 3: kind 'praise' is not one of" in result.stderr
    assert "Error: cli.csv: 1 bad row(s), the first on line 3: kind" in result.stderr and "nothing was imported" in result.stderr
    assert count(engine, Case) == 0
    result = _heard("import", "--skip-bad", str(path), database_url=url)
    assert result.returncode == 0, result.stderr
    assert "Imported 1 representation(s) from cli.csv; new teams: Fostering." in result.stdout
    assert "Skipped 1 bad row(s)" in result.stderr


def _heard(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`heard` with the report commands registered (as heard/cli.py does once they are wired in)."""
    program = "from heard.cli import cli; from heard.report_commands import register; register(cli); cli(prog_name='heard')"
    return subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=120, env=heard_env(**settings), cwd=ROOT)
