"""A download of the annual report (HTML, CSV or JSON) is audited like any other download.

The report's routes live in `reports/` (which knows nothing of officers), so the desk adds this
as a dependency where it mounts them."""

from __future__ import annotations

from fastapi import Depends, Request
from sqlmodel import Session

from desk import deps
from desk.casework import audit
from models import Officer

FORMS = {".csv.zip": "csv", ".html": "html", ".json": "json"}


def audit_report_download(request: Request, who: Officer = Depends(deps.manager), session: Session = deps.DB) -> None:
    path = request.url.path
    if not path.startswith("/reports/"):
        return  # the page itself, not a download
    form = next((name for ending, name in FORMS.items() if path.endswith(ending)), "")
    if form:
        audit(session, deps.actor(request, who), None, "downloaded_report", year=path.removeprefix("/reports/").split(".")[0], form=form)
