"""The managers' pages for retention: the next month's deletions, legal holds, and a person's
requests for correction and erasure, each with a reason and audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AuditEvent, Case, ChannelIdentity, Contact, LegalHold
from models.enums import OfficerRole
from scheduler.policy import RetentionPolicy
from scheduler.retention import run
from tests.retention_helpers import lived_case, utc
from tests.web_helpers import LONDON, client, form, make_app, sign_in


def audited(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def reference_of(engine: Engine, case_id: int) -> str:
    with Session(engine) as session:
        return session.get(Case, case_id).reference  # type: ignore[union-attr]


def test_a_manager_sees_next_months_deletions_and_holds_a_case_with_a_reason(engine: Engine) -> None:
    app = make_app(engine)  # today is Monday 23 November 2026
    soon = lived_case(engine, date(2020, 10, 1), date(2020, 12, 1))  # due 1 December 2026
    lived_case(engine, date(2021, 1, 4), date(2021, 2, 1))  # due in February: not listed
    reference = reference_of(engine, soon)
    c = sign_in(app, engine, "mo", OfficerRole.manager)
    page = c.get("/retention")
    assert page.status_code == 200 and reference in page.text and "Tue 1 Dec 2026" in page.text
    assert page.text.count('href="/cases/CSC-') == 1

    for data, error in [({"reference": reference, "reason": " "}, "give the reason"),
                        ({"reference": "CSC-1999-99999", "reason": "court"}, "there is no case CSC-1999-99999"),
                        ({"reference": "<b>", "reason": "court"}, "there is no case")]:
        refused = form(c, "/retention/holds", data, page="/retention")
        assert refused.status_code == 400 and error in refused.text
    held = form(c, "/retention/holds", {"reference": reference, "reason": "Ombudsman investigation 26 001 234"}, page="/retention")
    assert held.status_code == 303
    page = c.get("/retention?done=held")
    assert "On legal hold: will not be deleted" in page.text and "Ombudsman investigation 26 001 234" in page.text
    again = form(c, "/retention/holds", {"reference": reference, "reason": "again"}, page="/retention")
    assert again.status_code == 400 and "already on legal hold" in again.text
    assert [e.detail["reason"] for e in audited(engine, "legal_hold_set")] == ["Ombudsman investigation 26 001 234"]
    assert "On legal hold since 23 Nov 2026 (Ombudsman investigation 26 001 234)" in c.get(f"/cases/{reference}").text

    assert "case" not in run(engine, RetentionPolicy(), LONDON, utc(date(2026, 12, 2))).counts
    with Session(engine) as session:
        hold = session.exec(select(LegalHold)).one()
    assert form(c, f"/retention/holds/{hold.id}/lift", {"reason": ""}, page="/retention").status_code == 400
    assert form(c, f"/retention/holds/{hold.id}/lift", {"reason": "Ombudsman closed it"}, page="/retention").status_code == 303
    assert form(c, f"/retention/holds/{hold.id}/lift", {"reason": "twice"}, page="/retention").status_code == 404
    assert form(c, "/retention/holds/x/lift", {"reason": "twice"}, page="/retention").status_code == 400
    assert [e.detail["reason"] for e in audited(engine, "legal_hold_lifted")] == ["Ombudsman closed it"]
    assert run(engine, RetentionPolicy(), LONDON, utc(date(2026, 12, 2))).counts["case"] == 1
    case_page = c.get(f"/cases/{reference}")
    assert case_page.status_code == 200 and "was deleted on 02 Dec 2026 (case)" in case_page.text and "On legal hold" not in case_page.text
    erased = form(c, "/retention/holds", {"reference": reference, "reason": "too late"}, page="/retention")
    assert erased.status_code == 400 and "nothing left to hold" in erased.text


def test_only_managers_hold_and_only_with_the_forms_token(engine: Engine) -> None:
    app = make_app(engine)
    reference = reference_of(engine, lived_case(engine, date(2020, 10, 1), date(2020, 12, 1)))
    officer = sign_in(app, engine, "olu")
    assert officer.get("/retention").status_code == 403 and officer.get("/people").status_code == 403
    manager = sign_in(app, engine, "mo", OfficerRole.manager)
    forged = manager.post("/retention/holds", data={"reference": reference, "reason": "court"})
    assert forged.status_code == 403
    assert audited(engine, "legal_hold_set") == []
    assert client(app).get("/retention").status_code == 303  # not signed in: to the sign-in page
    assert 'href="/retention">Personal data</a>' in manager.get("/").text and 'href="/retention"' not in officer.get("/").text
    for here in ("/retention", "/subject-access", "/people"):  # one link in the navigation, then each page leads to the others
        page = manager.get(here).text
        assert all(f'href="{there}"' in page for there in ("/retention", "/subject-access", "/people"))
        assert f'href="{here}" aria-current="page"' in page


def test_a_person_is_erased_except_what_must_stay_and_heard_says_why(engine: Engine) -> None:
    app = make_app(engine)
    closed = lived_case(engine, date(2022, 1, 10), date(2022, 3, 1))
    with Session(engine) as session:
        contact_id = session.get(Case, closed).contact_id  # type: ignore[union-attr]
        address = session.exec(select(ChannelIdentity.address).where(ChannelIdentity.contact_id == contact_id)).one()
    still_open = lived_case(engine, date(2026, 11, 2), None, contact_id=contact_id)
    held = lived_case(engine, date(2023, 1, 9), date(2023, 3, 1), contact_id=contact_id, held=True)
    c = sign_in(app, engine, "mo", OfficerRole.manager)
    assert c.get("/people?address=nobody@example.org").status_code == 404
    page = c.get(f"/people?address={address.upper()}")
    assert page.status_code == 200 and "still open" in page.text and "on legal hold: Ombudsman investigating" in page.text
    assert form(c, f"/people/{contact_id}/erase", {"reason": ""}, page="/people").status_code == 400
    done = form(c, f"/people/{contact_id}/erase", {"reason": "Asked by letter, 20 November"}, page="/people")
    assert done.status_code == 200
    assert "1 closed case(s) erased" in done.text and "Their contact details stay" in done.text
    assert f'data-kept="{reference_of(engine, still_open)}"' in done.text and f'data-kept="{reference_of(engine, held)}"' in done.text
    assert "anonymous statistical record" in done.text
    with Session(engine) as session:
        assert session.get(Case, closed).erased_rule == "erasure_request"  # type: ignore[union-attr]
        assert session.get(Case, still_open).erased_at is None and session.get(Case, held).erased_at is None  # type: ignore[union-attr]
        assert session.get(Contact, contact_id) is not None
    [event] = audited(engine, "erasure_request")
    assert event.detail["reason"] == "Asked by letter, 20 November" and event.detail["contact_erased"] is False
    assert [e.case_id for e in audited(engine, "erased_on_request")] == [closed]


def test_a_manager_corrects_a_persons_details_and_the_audit_names_what_not_the_values(engine: Engine) -> None:
    app = make_app(engine)
    case_id = lived_case(engine, date(2026, 10, 5), None)
    other = lived_case(engine, date(2026, 10, 5), None)
    with Session(engine) as session:
        contact_id = session.get(Case, case_id).contact_id  # type: ignore[union-attr]
        identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id)).one()
        taken = session.exec(select(ChannelIdentity.address).where(
            ChannelIdentity.contact_id == session.get(Case, other).contact_id)).one()  # type: ignore[union-attr]
    c = sign_in(app, engine, "mo", OfficerRole.manager)
    page = f"/people?contact={contact_id}"
    for data, error in [({"address": "not an address"}, "is not an email address"),
                        ({"address": taken}, "already another person&#39;s email address"),
                        ({"address": "new@example.org", "reason": ""}, "give the reason")]:
        refused = form(c, f"/people/{contact_id}/correct", {"display_name": "Sam", "identity": str(identity.id), "reason": "asked", **data}, page=page)
        assert refused.status_code == 400 and error in refused.text
    assert form(c, "/people/abc/correct", {"reason": "asked"}, page=page).status_code == 400
    fixed = form(c, f"/people/{contact_id}/correct", {"display_name": "Samira Okoye", "identity": str(identity.id),
                                                      "address": "samira@example.org", "reason": "Phoned 24 November"}, page=page)
    assert fixed.status_code == 303
    assert "Samira Okoye" in c.get(fixed.headers["location"]).text
    with Session(engine) as session:
        assert session.get(ChannelIdentity, identity.id).address == "samira@example.org"  # type: ignore[union-attr]
    [event] = audited(engine, "contact_corrected")
    assert event.detail == {"contact_id": contact_id, "changed": ["name", "email address"], "reason": "Phoned 24 November"}


def test_a_person_known_only_from_an_auto_reply_is_erased_entirely(engine: Engine) -> None:
    from models import Message
    from tests.retention_helpers import not_a_case

    app = make_app(engine)
    message_id = not_a_case(engine, utc(date(2026, 11, 20)))
    with Session(engine) as session:
        contact_id = session.get(Message, message_id).contact_id  # type: ignore[union-attr]
        address = session.exec(select(ChannelIdentity.address).where(ChannelIdentity.contact_id == contact_id)).one()
    c = sign_in(app, engine, "mo", OfficerRole.manager)
    assert f'data-person="{contact_id}"' in c.get(f"/people?address={address}").text
    done = form(c, f"/people/{contact_id}/erase", {"reason": "Asked by email"}, page="/people")
    assert done.status_code == 200 and "0 closed case(s) erased, and their contact details" in done.text
    assert "Heard could not erase" not in done.text
    with Session(engine) as session:
        assert session.get(Message, message_id) is None and session.get(Contact, contact_id) is None
        assert session.exec(select(ChannelIdentity)).all() == []
    [event] = audited(engine, "erasure_request")
    assert event.detail["loose_messages"] == 1 and event.detail["contact_erased"] is True
