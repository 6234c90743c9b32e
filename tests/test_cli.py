"""`heard` as a person runs it: real processes, real output, real exit codes."""

import json
import re
from pathlib import Path

import click
import pytest

from heard.cli import cli
from tests.helpers import ROOT, run_heard


def test_deadlines_prints_each_date_with_its_arithmetic() -> None:
    result = run_heard("deadlines", "--received", "2026-12-23")
    assert result.returncode == 0, result.stderr
    assert re.search(r"stage 1\s+Mon 11 Jan 2027\s+received Wed 23 Dec 2026 \(day 0\); 10 working days", result.stdout)
    assert "28 Dec (Boxing Day, substitute day)" in result.stdout


def test_deadlines_as_json_for_scripts() -> None:
    result = run_heard("deadlines", "--received", "2027-03-25", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {d["name"]: d["due"] for d in data["deadlines"]}["stage_1"] == "2027-04-12"
    assert data["time_limit"]["earliest_event"] == "2026-03-25"


def test_deadlines_for_the_corporate_procedure() -> None:
    data = json.loads(run_heard("deadlines", "--received", "2026-11-23", "--procedure", "corporate", "--json").stdout)
    assert {d["name"]: d["working_days"] for d in data["deadlines"]}["stage_1"] == 20


@pytest.mark.parametrize(
    ("args", "settings", "expected"),
    [
        (["deadlines", "--received", "2026-02-30"], {}, "'2026-02-30' is not a date in the form YYYY-MM-DD"),
        (["deadlines", "--received", "23/12/2026"], {}, "is not a date in the form YYYY-MM-DD"),
        (["deadlines", "--received", "2026-12-23", "--procedure", "informal"], {}, "'informal' is not one of"),
        (["deadlines", "--received", "2026-12-23"], {"smtp_port": "0"}, "HEARD_SMTP_PORT: Input should be greater than or equal to 1"),
        (["deadlines", "--received", "2026-12-23"], {"policy_file": "tests/data/bad_policy.toml"}, "statutory: stage_2_extended (20) must be at least stage_2 (25)"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args: list[str], settings: dict[str, str], expected: str) -> None:
    result = run_heard(*args, **settings)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error")]) == 1


def test_an_unreachable_database_is_a_clear_message_and_a_failure() -> None:
    result = run_heard("db", "upgrade", database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "cannot reach the database at postgresql+psycopg://nobody@127.0.0.1:1/none" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_brings_a_new_database_to_the_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = run_heard("db", "upgrade", database_url=url)
    assert result.returncode == 0, result.stderr
    assert re.search(r"database at revision (\w+) \(head \1\)", result.stdout)


def test_calendar_lists_the_bank_holidays() -> None:
    result = run_heard("calendar", "--year", "2027")
    assert result.returncode == 0
    assert "Mon 27 Dec 2027  Christmas Day, substitute day" in result.stdout


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    found = []
    for name, command in group.commands.items():
        found.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize("command", _commands(cli))
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = run_heard(*command.split(), "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: heard {command}")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"heard {command}" in readme, f"`heard {command}` is not documented in the README"
