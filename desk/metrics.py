"""/metrics in Prometheus's text format, for a signed-in admin or a scraper with the token.

Two kinds of figure, kept apart on purpose:

- **From the database, read at each scrape** (`DatabaseFigures`): the email and chat messages
  stored but not yet read into cases, the outbox's unsent and failed items, the last sweep, the
  heartbeats. Heard may run as many processes on one database, and only the database knows
  these; any web process answers the same. Every query is read from an index alone or from the
  stored rows' partial index (`ix_message_stored`, `ix_outbox_status_channel_created`, the
  heartbeat table's handful of rows), so a scrape stays a few milliseconds on a database of
  millions (`heard_metrics_database_seconds` says how long it took).
- **From this process** (the `prometheus_client` default registry): what came in and what was
  turned away (triage/figures.py), the classifier's time (triage/timed.py) and the web app's
  request time by route (timed by `desk.request_id.RequestLog`). A process knows only its own; Prometheus adds them up.
  A `heard serve` process without the web app serves its own on a loopback port instead
  (`HEARD_METRICS_PORT`, heard/serve.py).

Prometheus cannot sign in, so `Authorization: Bearer <HEARD_METRICS_TOKEN>` also opens it
(empty token: only a signed-in admin's session). No token and no session: 401; a wrong token:
401; an officer or manager: 403.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from models import heartbeat
from models.columns import UTCDateTime
from models.db import session_scope
from models.enums import OfficerRole
from desk import deps
from desk.auth import NotSignedIn, at_least

STORED = sa.text("state = 'stored'")  # written out, so SQLite and PostgreSQL use the partial index
INBOUND = ("email", "telegram", "webchat")  # the channels whose messages wait for a worker
OUTBOUND = ("email", "telegram", "webchat")  # the channels the outbox sends on
UNSENT = ("pending", "sending")

WEB_SECONDS = Histogram(
    "heard_web_request_seconds", "Time the web app took to answer, by route (its template, not the path), method and status.",
    ["route", "method", "status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class DatabaseFigures(Collector):
    """The figures only the database knows, read afresh at each scrape."""

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine, self.now = engine, now

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("heard_database_up", "1 when the database answered this scrape, 0 when it did not.")
        try:
            figures = list(self._read(self.now()))
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures
        took = GaugeMetricFamily("heard_metrics_database_seconds", "Time this scrape's database figures took to read.")
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _read(self, now: datetime) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            yield from self._stored(conn, now)
            yield from self._outbox(conn, now)
            yield from self._heartbeats(conn, now)

    def _stored(self, conn: sa.Connection, now: datetime) -> Iterator[Metric]:
        waiting = GaugeMetricFamily("heard_messages_stored", "Messages stored as they arrived but not yet read into cases, by channel.",
                                    labels=["channel"])
        oldest = GaugeMetricFamily("heard_messages_stored_oldest_seconds",
                                   "How long the oldest message not yet read into a case has waited, by channel (0: none waiting).",
                                   labels=["channel"])
        counts = dict(conn.execute(sa.text(f"SELECT channel, count(*) FROM message WHERE {STORED} GROUP BY channel")).all())
        for channel in INBOUND:
            waiting.add_metric([channel], counts.get(channel, 0))
            age = 0.0
            if counts.get(channel):
                first = conn.execute(sa.select(sa.column("received_at", UTCDateTime())).select_from(sa.table("message"))
                                     .where(STORED, sa.column("channel") == channel).order_by(sa.column("id")).limit(1)).scalar()
                age = max(0.0, (now - first).total_seconds()) if first else 0.0
            oldest.add_metric([channel], age)
        yield waiting
        yield oldest

    def _outbox(self, conn: sa.Connection, now: datetime) -> Iterator[Metric]:
        items = GaugeMetricFamily("heard_outbox_items", "Outbox items not sent: pending (waiting or retrying), sending, failed (for good), by channel.",
                                  labels=["channel", "status"])
        oldest = GaugeMetricFamily("heard_outbox_oldest_unsent_seconds",
                                   "Age of the oldest outbox item still pending or sending, by channel (0: none).", labels=["channel"])
        table = sa.table("outboxitem", sa.column("status"), sa.column("channel"), sa.column("created_at", UTCDateTime()))
        found = conn.execute(sa.select(table.c.status, table.c.channel, sa.func.count(), sa.func.min(table.c.created_at))
                             .where(table.c.status.in_((*UNSENT, "failed"))).group_by(table.c.status, table.c.channel)).all()
        counts = {(status, channel): n for status, channel, n, _ in found}
        firsts: dict[str, datetime] = {}
        for status, channel, _, first in found:
            if status in UNSENT and first is not None:
                firsts[channel] = min(first, firsts.get(channel, first))
        for channel in sorted({*OUTBOUND, *(c for _, c in counts)}):
            for status in (*UNSENT, "failed"):
                items.add_metric([channel, status], counts.get((status, channel), 0))
            oldest.add_metric([channel], max(0.0, (now - firsts[channel]).total_seconds()) if channel in firsts else 0.0)
        yield items
        yield oldest

    def _heartbeats(self, conn: sa.Connection, now: datetime) -> Iterator[Metric]:
        seen = heartbeat.parts(conn, now)
        age = GaugeMetricFamily("heard_heartbeat_age_seconds", "Seconds since a process of this part last reported in.", labels=["part"])
        live = GaugeMetricFamily("heard_heartbeat_live_processes", "Processes of this part reporting in within their interval.",
                                 labels=["part"])
        for part, p in seen.items():
            age.add_metric([part], max(0.0, (now - p.last_seen).total_seconds()))
            live.add_metric([part], p.live)
        yield age
        yield live
        sweep = seen.get("scheduler")
        if sweep is not None and sweep.last_run_at is not None:
            at = GaugeMetricFamily("heard_sweep_last_timestamp_seconds", "When the last finished sweep began (Unix time).")
            at.add_metric([], sweep.last_run_at.timestamp())
            took = GaugeMetricFamily("heard_sweep_last_duration_seconds", "How long the last finished sweep took.")
            took.add_metric([], sweep.last_run_seconds or 0.0)
            yield at
            yield took


def exposition(engine: Engine, now: Callable[[], datetime]) -> bytes:
    """This process's figures, then the database's."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseFigures(engine, now))
    return generate_latest(REGISTRY) + generate_latest(database)


def router(token: str) -> APIRouter:
    """GET /metrics; `token` is HEARD_METRICS_TOKEN (empty: sessions only)."""
    routes = APIRouter()
    refused = {"www-authenticate": 'Bearer realm="heard metrics"'}

    @routes.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        given = request.headers.get("authorization")
        if given is not None:
            scheme, _, value = given.partition(" ")
            if not (token and scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())):
                return JSONResponse({"detail": "that token does not open /metrics"}, status_code=401, headers=refused)
        else:
            w = deps.web(request)
            try:
                with session_scope(w.engine) as session:
                    admin = at_least(w.sessions.read(deps.session_token(request), session), OfficerRole.admin)
            except NotSignedIn:
                return JSONResponse({"detail": "sign in as an admin, or send the metrics token"}, status_code=401, headers=refused)
            if not admin:
                return JSONResponse({"detail": "/metrics is for admins"}, status_code=403)
        w = deps.web(request)
        return Response(exposition(w.engine, w.now), media_type=CONTENT_TYPE_LATEST)

    return routes
