"""The search page (/search?q=) and GET /api/search: the same search, audited each time with
the words searched for, so a council can show who looked for whom."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from desk import casework, deps
from desk.casework import Actor
from desk.search import Result, search

router = APIRouter()
LIMIT = 50
KEPT = 500  # characters of the query kept in the audit (with its full length)


class SearchResult(BaseModel):
    reference: str
    snippet: str  # plain text; escape it when showing it
    kind: str | None
    status: str
    received_on: date


class SearchOut(BaseModel):
    results: list[SearchResult]


def _run(request: Request, session: Session, actor: Actor, q: str, via: str) -> list[Result]:
    if not q.strip():
        return []
    results = search(session, q, LIMIT)
    casework.audit(session, actor, None, "searched", query=q[:KEPT], length=len(q), results=len(results), via=via)
    return results


@router.get("/search", include_in_schema=False)
def search_page(request: Request, q: str = "", actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> Response:
    results = _run(request, session, actor, q, "page")
    zone = deps.web(request).zone
    return deps.render(request, "search.html", q=q, results=results,
                       days={r.reference: r.received_at.astimezone(zone).date() for r in results})


@router.get("/api/search", response_model=SearchOut, tags=["officers"])
def search_api(request: Request, q: str = "", actor: Actor = Depends(deps.actor), session: Session = deps.DB) -> SearchOut:
    """Cases whose messages, people (names, email addresses, phone numbers, Telegram names) or
    reference match every word of `q`, newest first, at most 50. Audited with the query."""
    zone = deps.web(request).zone
    return SearchOut(results=[SearchResult(reference=r.reference, snippet=r.snippet, kind=r.kind, status=r.status,
                                           received_on=r.received_at.astimezone(zone).date())
                              for r in _run(request, session, actor, q, "api")])
