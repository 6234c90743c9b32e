"""/readyz: is this deployment ready to take and work representations? Beside /healthz, which
says only that this process and its database answer.

Ready means, each checked in turn and named in the answer:
- `database`: it answers;
- `migrations`: it is at the newest migration this code knows (an older one means `heard db
  upgrade` has not been run; a newer one, that this code is older than the database);
- each part of `HEARD_READY_PARTS` (default the email worker and the scheduler): at least one
  process of that part has reported in within its interval (models/heartbeat.py: two missed
  beats and a grace). The freshest process decides, so the row of a process that died never
  fails a part another process still runs. A part that has never reported in fails too — it is
  expected and not running. A part not listed (a deployment without a scheduler, say) is shown
  when it has reported in, but never fails.

200 with every check when all pass; 503 naming the failing ones otherwise. No sign-in: it says
nothing about anyone, only whether the parts run (a load balancer or orchestrator asks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from models import heartbeat
from models.migrate import head
from desk import deps

PARTS = ("email", "scheduler")  # the parts that report in


def readiness(engine: Engine, expected: Sequence[str], now: datetime, newest: str | None) -> tuple[bool, dict[str, Any]]:
    """(ready, the answer's body)."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            checks["database"] = {"ok": True, "detail": "answers"}
            current = MigrationContext.configure(conn).get_current_revision()
            checks["migrations"] = {"ok": current == newest, "current": current, "newest": newest,
                                    "detail": "current" if current == newest else
                                    "not migrated: run heard db upgrade" if current is None else
                                    f"at {current}, newest is {newest}"}
            if checks["migrations"]["ok"]:
                seen = heartbeat.parts(conn, now)
                for part in sorted({*expected, *seen}):
                    checks[part] = _part(part, seen.get(part), now, part in expected)
    except sa.exc.SQLAlchemyError as exc:
        failed = "migrations" if "database" in checks else "database"
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        checks[failed] = {"ok": False, "detail": f"unreachable: {reason}" if failed == "database" else f"cannot read: {reason}"}
    failing = [name for name, check in checks.items() if not check["ok"]]
    return not failing, {"status": "not ready" if failing else "ready", "failing": failing, "checks": checks}


def _part(part: str, seen: heartbeat.PartSeen | None, now: datetime, expected: bool) -> dict[str, Any]:
    if seen is None:
        return {"ok": not expected, "expected": expected, "detail": "never reported in"}
    ago = max(0, round((now - seen.last_seen).total_seconds()))
    alive = seen.alive
    detail = (f"{seen.live} process{'es' if seen.live != 1 else ''} reporting in; last {ago} s ago, every {seen.interval_seconds:g} s"
              if alive else f"stale: last reported in {ago} s ago, every {seen.interval_seconds:g} s")
    return {"ok": alive or not expected, "expected": expected, "live_processes": seen.live, "last_seen_seconds_ago": ago,
            "interval_seconds": seen.interval_seconds, "detail": detail}


def router(expected: Sequence[str]) -> APIRouter:
    routes = APIRouter()
    newest = head()  # the code's newest migration: read once, the code does not change under us

    @routes.get("/readyz", include_in_schema=False)  # for machines; its 503 is an answer, not a fault
    def ready(request: Request) -> JSONResponse:
        """200 when the database answers, is migrated, and each expected part has reported in; 503 naming what failed."""
        w = deps.web(request)
        ok, body = readiness(w.engine, expected, w.now(), newest)
        return JSONResponse(body, status_code=200 if ok else 503)

    return routes
