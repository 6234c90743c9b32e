"""deploy/ as an administrator meets it: the units pass systemd's own check, nginx accepts the
example, and `honcho start` with the Procfile brings up every part on a fresh PostgreSQL
database, takes a mail, and stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from heard.serve import PARTS
from tests.conftest import POSTGRES_URL, _postgres_database
from tests.helpers import ROOT, free_port, heard_env, run_heard
from tests.telegram_fake import FakeBotAPI

DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
HEARD_BIN = "/opt/heard/venv/bin/heard"


def _procfile() -> dict[str, str]:
    lines = [line for line in (DEPLOY / "Procfile").read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split(": ", 1) for line in lines)


def _target_wants() -> list[str]:
    text = (UNITS / "heard.target").read_text()
    return [unit for line in text.splitlines() if line.startswith("Wants=") for unit in line[6:].split()]


def test_the_procfile_and_the_units_run_every_part_of_heard_serve() -> None:
    in_procfile = {re.search(r"--only (\w+)", command).group(1) for command in _procfile().values()}  # type: ignore[union-attr]
    assert in_procfile == set(PARTS)
    in_units = set()
    for unit in _target_wants():
        template = re.sub(r"@[^.]+\.service$", "@.service", unit)
        exec_start = re.search(r"^ExecStart=.*--only (\w+)$", (UNITS / template).read_text(), re.M)
        assert exec_start, f"{template} runs no part"
        in_units.add(exec_start.group(1))
    assert in_units == set(PARTS)
    # Two web processes and two schedulers, as the target says; nginx sends to both web ports.
    web_ports = sorted(int(u.split("@")[1].split(".")[0]) for u in _target_wants() if u.startswith("heard-web@"))
    assert len(web_ports) == 2 and len([u for u in _target_wants() if u.startswith("heard-scheduler@")]) == 2
    nginx = (DEPLOY / "nginx" / "heard.conf").read_text()
    upstream = re.search(r"upstream heard_web \{(.*?)\}", nginx, re.S).group(1)  # type: ignore[union-attr]
    assert sorted(int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+)", upstream)) == web_ports
    webhook_port = re.search(r"^HEARD_TELEGRAM_WEBHOOK_PORT=(\d+)$", (DEPLOY / "heard.env.example").read_text(), re.M)
    assert webhook_port and f"server 127.0.0.1:{webhook_port.group(1)};" in nginx
    assert "location = /telegram/webhook" in nginx  # the path bots/telegram/intake.py listens on


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """Unknown keys, bad values and a missing ExecStart program are what `verify` reports; the
    program is pointed at this checkout's `heard` so the check runs on any machine."""
    heard = shutil.which("heard", path=str(Path(sys.executable).parent)) or shutil.which("heard")
    assert heard, "the heard command is not installed next to this Python"
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(HEARD_BIN, heard))
    names = ["heard.target", "heard-email.service", "heard-telegram.service", "heard-webchat.service",
             "heard-backup.service", "heard-backup.timer", *_target_wants()]
    result = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) if (tmp_path / n).exists() else n for n in names)],
                            capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"})
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "heard" in line]
    assert result.returncode == 0 and not complaints, "\n".join(complaints) or result.stderr


@pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()) or not shutil.which("openssl"),
                    reason="nginx or openssl is not installed")
def test_nginx_accepts_the_example_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=heard.example.gov.uk",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    site = (DEPLOY / "nginx" / "heard.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/heard.example.gov.uk/", f"{tmp_path}/")
    (tmp_path / "heard.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n  include {tmp_path}/heard.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr.replace("the \"user\" directive makes sense only", ""), result.stderr


class _FakeTelegram:
    """The test suite's fake Bot API, in a thread of its own for a test that is not async."""

    def __init__(self) -> None:
        self.api = FakeBotAPI()
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> _FakeTelegram:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.api.start(self.port), self.loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class _Lines:
    """Everything honcho prints, read by a thread so the test can wait for a line with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_until(self, done, timeout: float) -> list[str]:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(self.lines) and self.thread.is_alive():
            time.sleep(0.1)
        assert done(self.lines), "honcho never got there:\n" + "\n".join(self.lines)
        return list(self.lines)


def _said(lines: list[str], text: str) -> set[str]:
    """The Procfile names whose process printed `text` (honcho prefixes `HH:MM:SS name.1 | `)."""
    return {m.group(1) for line in lines if (m := re.match(r"\S+ (\w+)\.1\s+\| (.*)$", line)) and text in m.group(2)}


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="set HEARD_TEST_POSTGRES_URL to run the PostgreSQL tests")
def test_honcho_starts_every_part_from_the_procfile_on_postgresql(tmp_path: Path) -> None:
    names = set(_procfile())
    for database_url in _postgres_database():
        assert run_heard("db", "upgrade", database_url=database_url).returncode == 0
        web_1, web_2, smtp, webhook = free_port(), free_port(), free_port(), free_port()
        with _FakeTelegram() as telegram:
            settings = {
                "database_url": database_url, "secret_key": "a-shared-key-for-both-web-processes-0123456789",
                "smtp_port": str(smtp), "email_workers": "2", "complaint_addresses": "complaints@heard.localhost",
                "public_url": "https://heard.example.gov.uk",
                "telegram_token": "123456:deploy-test", "telegram_api_base": f"http://127.0.0.1:{telegram.port}",
                "telegram_mode": "webhook", "telegram_webhook_url": "https://heard.example.gov.uk/telegram/webhook",
                "telegram_webhook_secret": "a-webhook-secret-0123456789", "telegram_webhook_port": str(webhook),
            }
            env_file = tmp_path / "heard.env"
            env_file.write_text("".join(f"HEARD_{k.upper()}={v}\n" for k, v in settings.items()))
            env = {**heard_env(), "WEB_PORT_1": str(web_1), "WEB_PORT_2": str(web_2),
                   # `heard` from this Python's environment, importing this checkout first.
                   "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                   "PYTHONPATH": str(ROOT)}
            proc = subprocess.Popen(
                [sys.executable, "-m", "honcho", "-e", str(env_file), "-f", str(DEPLOY / "Procfile"), "-d", str(tmp_path),
                 "start", "--no-colour"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path, start_new_session=True)
            output = _Lines(proc)
            try:
                lines = output.wait_until(lambda seen: _said(seen, "Press Ctrl-C to stop.") == names, timeout=240)
                assert _said(lines, "Heard is running on postgresql+psycopg://") == names
                assert _said(lines, f"web app       http://127.0.0.1:{web_1}/") == {"web1"}
                assert _said(lines, f"web app       http://127.0.0.1:{web_2}/") == {"web2"}
                assert _said(lines, f"smtp://127.0.0.1:{smtp} for complaints@heard.localhost") == {"email"}
                assert _said(lines, "; 2 workers") == {"email"}
                assert _said(lines, "sweeping every 30 s") == {"scheduler1", "scheduler2"}
                assert _said(lines, f"telegram bot  webhook https://heard.example.gov.uk/telegram/webhook (listening on 127.0.0.1:{webhook})") == {"telegram"}
                assert _said(lines, "web chat ") == {"webchat"}
                assert [c.params["url"] for c in telegram.api.calls if c.method == "setWebhook"] == [settings["telegram_webhook_url"]]
                for port in (web_1, web_2):
                    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                    assert health.json() == {"status": "ok", "database": "ok"}

                mail = EmailMessage()
                mail["From"], mail["To"], mail["Subject"] = "jo@example.org", "complaints@heard.localhost", "contact"
                mail.set_content("Nobody rang me back about my son's contact with his dad.")
                with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as client:
                    client.send_message(mail)
                deadline = time.monotonic() + 60
                cases: list[dict[str, object]] = []
                while time.monotonic() < deadline and not cases:
                    listed = run_heard("cases", "--json", database_url=database_url)
                    assert listed.returncode == 0, listed.stderr
                    cases = json.loads(listed.stdout)
                    time.sleep(0.5)
                assert len(cases) == 1 and re.fullmatch(r"CSC-\d{4}-00001", str(cases[0]["reference"]))
                assert cases[0]["channel"] == "email"
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                finally:
                    if proc.poll() is None:
                        os.killpg(proc.pid, signal.SIGKILL)
                output.thread.join(10)
            everything = "\n".join(output.lines)
            assert _said(output.lines, "Stopped.") == names, everything
            assert "Traceback" not in everything, everything
