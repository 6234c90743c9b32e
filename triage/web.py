"""The web app that officers (and, later, web chat users) reach. FastAPI, server-rendered."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.engine import Engine

HOME = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Heard</title></head>
<body><main><h1>Heard</h1>
<p>Intake and triage for children's social care complaints.</p>
<p><a href="/healthz">Health check</a></p></main></body></html>"""


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="Heard", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return HOME

    @app.get("/healthz")
    def health() -> JSONResponse:
        """200 when the database answers, 503 when it does not (so a load balancer can tell)."""
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
