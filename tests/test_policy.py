from pathlib import Path

import pytest

from models.enums import Procedure
from scheduler.policy import PolicyError, load_policy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_defaults_are_those_of_the_domain() -> None:
    policy = load_policy()
    s = policy.statutory
    assert (s.acknowledgement, s.initial_feedback, s.stage_1, s.stage_1_extended) == (3, 5, 10, 20)
    assert (s.stage_2_request_window, s.stage_2, s.stage_2_extended) == (20, 25, 65)
    assert (s.stage_3_request_window, s.stage_3_panel, s.stage_3_report, s.stage_3_response) == (20, 30, 5, 15)
    assert s.time_limit_months == 12
    c = policy.timescales(Procedure.corporate)
    assert (c.stage_1, c.stage_2) == (20, 25)
    assert not c.has_stage_3


def test_a_council_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, '[statutory]\nacknowledgement = 2\n[calendar]\nextra_closures = { 2026-12-24 = "Christmas Eve closure" }\n'))
    assert policy.statutory.acknowledgement == 2
    assert policy.statutory.stage_1 == 10
    assert str(policy.calendar.extra_closures[next(iter(policy.calendar.extra_closures))]) == "Christmas Eve closure"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[statutory]\nstage_1 = 0\n", "statutory.stage_1: Input should be greater than 0"),
        ("[statutory]\nstage_1 = 30\n", "stage_1_extended (20) must be at least stage_1 (30)"),
        ("[statutory]\nstage_one = 10\n", "statutory.stage_one: Extra inputs are not permitted"),
        ("[statutory]\nstage_1 = 'ten'\n", "statutory.stage_1: Input should be a valid integer"),
        ("[statutory\n", "not valid TOML"),
        ("[calendar]\nnon_working_day_receipt = 'sometimes'\n", "calendar.non_working_day_receipt"),
    ],
)
def test_a_wrong_policy_is_one_line_naming_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="nope.toml: cannot read"):
        load_policy(tmp_path / "nope.toml")
