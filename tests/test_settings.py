from pathlib import Path

import pytest

from heard.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HEARD_"):
            monkeypatch.delenv(name)


def test_the_defaults_run_on_embedded_sqlite() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///var/heard.db"
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 2525)
    assert settings.timezone == "Europe/London"
    assert settings.telegram_token.get_secret_value() == ""


def test_settings_come_from_heard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARD_WEB_PORT", "8123")
    monkeypatch.setenv("HEARD_COMPLAINT_ADDRESSES", "Complaints@Council.gov.uk, feedback@council.gov.uk")
    settings = load_settings()
    assert settings.web_port == 8123
    assert settings.complaint_addresses == ["complaints@council.gov.uk", "feedback@council.gov.uk"]


def test_a_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("123:ABC\n", encoding="utf-8")
    monkeypatch.setenv("HEARD_TELEGRAM_TOKEN_FILE", str(secret))
    assert load_settings().telegram_token.get_secret_value() == "123:ABC"


def test_a_value_set_directly_wins_over_its_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file", encoding="utf-8")
    monkeypatch.setenv("HEARD_RELAY_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("HEARD_RELAY_PASSWORD", "direct")
    assert load_settings().relay_password.get_secret_value() == "direct"


def test_an_unreadable_secret_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEARD_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="HEARD_SECRET_KEY_FILE: cannot read"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HEARD_SMTP_PORT", "99999", "HEARD_SMTP_PORT: Input should be less than or equal to 65535"),
        ("HEARD_WEB_PORT", "eighty", "HEARD_WEB_PORT: Input should be a valid integer"),
        ("HEARD_TIMEZONE", "Europe/Londn", "HEARD_TIMEZONE: unknown time zone 'Europe/Londn'"),
        ("HEARD_POLICY_FILE", "/nowhere/policy.toml", "HEARD_POLICY_FILE: no such file: /nowhere/policy.toml"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`HEARD_{name.upper()}`" in readme, f"HEARD_{name.upper()} is missing from the README's settings table"
