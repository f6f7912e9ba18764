"""The audit log (issue 8, part 4): filters, pages, UTC times, addresses, the CSV download, and
every security event being recorded."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mentoring import audit
from mentoring.admin import services
from mentoring.auth import throttle
from mentoring.models import AuditEvent

from conftest import TEST_PASSWORD, SignedIn, csrf_token


def add_event(db, action, at, actor=None, **fields) -> AuditEvent:
    event = audit.record(db, action, actor=actor, **fields)
    event.at = at
    db.flush()
    return event


def shown_actions(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="nhsuk-table__header">([^<]+)</th>', html)


@pytest.fixture
def history(db, factory, admin):
    """Six events over three days, from two people."""
    amy = factory.user(email="amy@lewisham.nhs.uk")
    base = datetime(2027, 3, 5, 23, 30, tzinfo=UTC)
    made = [
        add_event(db, "sign_in.succeeded", base, actor=amy, obj=amy, ip="203.0.113.7"),
        add_event(db, "sign_in.failed", base + timedelta(minutes=10), detail={"email": "x@y"},
                  ip="198.51.100.1"),
        add_event(db, "match.accepted", base + timedelta(days=1), actor=amy),
        add_event(db, "user.role_changed", base + timedelta(days=1, hours=1), actor=admin,
                  obj=amy, detail={"from": "leader", "to": "coordinator", "reason": "=SUM(A1)"}),
        add_event(db, "sign_in.succeeded", base + timedelta(days=2), actor=admin, obj=admin),
        add_event(db, "export.my_data", base + timedelta(days=2, hours=1), actor=amy, obj=amy),
    ]
    return {"amy": amy, "events": made}


def test_the_log_is_newest_first_with_utc_times_and_addresses(admin_client, history):
    html = admin_client.get("/admin/audit?since-day=1&since-month=3&since-year=2027"
                            "&until-day=31&until-month=3&until-year=2027").get_data(as_text=True)
    assert shown_actions(html) == ["export.my_data", "sign_in.succeeded", "user.role_changed",
                                   "match.accepted", "sign_in.failed", "sign_in.succeeded"]
    # 23:30 UTC on 5 March, whatever London's clocks say, and marked as UTC.
    assert "2027-03-05 23:30:00 UTC" in html
    assert "203.0.113.7" in html and "198.51.100.1" in html
    assert "amy@lewisham.nhs.uk" in html
    assert "reason: =SUM(A1)" in html


@pytest.mark.parametrize(("query", "expected"), [
    ("action=sign_in.", ["sign_in.succeeded", "sign_in.failed", "sign_in.succeeded"]),
    ("action=sign_in.failed", ["sign_in.failed"]),
    ("action=sign_in%25", []),  # the prefix is plain text, not a pattern
    ("actor=LEWISHAM", ["export.my_data", "match.accepted", "sign_in.succeeded"]),
    ("object_type=User&object_id={amy}", ["export.my_data", "user.role_changed",
                                          "sign_in.succeeded"]),
    # Days are UTC days: the role change at 00:30 UTC on 7 March is not on the 6th.
    ("since-day=6&since-month=3&since-year=2027&until-day=6&until-month=3&until-year=2027",
     ["match.accepted"]),
    ("action=sign_in.&since-day=7&since-month=3&since-year=2027", ["sign_in.succeeded"]),
])
def test_filters(admin_client, history, query, expected):
    query = query.format(amy=history["amy"].id)
    # Only this test's events: anything else in the log happened today, before March 2027.
    if "since" not in query:
        query += "&since-day=1&since-month=3&since-year=2027"
    html = admin_client.get(f"/admin/audit?{query}").get_data(as_text=True)
    assert shown_actions(html) == expected


def test_a_date_that_is_not_real_is_shown_beside_the_field_and_kept(admin_client, history):
    response = admin_client.get("/admin/audit?action=sign_in.&since-day=31&since-month=2"
                                "&since-year=2027")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="since-error"' in html and "From must be a real date" in html
    assert 'href="#since-day"' in html  # the error summary links to the first box
    assert 'value="31"' in html and 'value="sign_in."' in html
    response = admin_client.get("/admin/audit?since-day=2&since-month=3&since-year=2027"
                                "&until-day=1&until-month=3&until-year=2027")
    assert response.status_code == 400
    assert "To must be the same as or after From" in response.get_data(as_text=True)


def test_pages_follow_a_cursor_and_do_not_shift_when_events_arrive(db, factory, admin):
    base = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    # Two events share a timestamp: the id breaks the tie.
    made = [add_event(db, f"test.event{n}", base + timedelta(minutes=n // 2)) for n in range(7)]
    filters = services.AuditFilters(action="test.")
    first = services.audit_page(db, filters, per_page=3)
    assert [e.action for e in first.events] == ["test.event6", "test.event5", "test.event4"]
    assert first.newer is None and first.older == made[4].id
    add_event(db, "test.event7", base + timedelta(hours=1))  # arrives while reading
    second = services.audit_page(db, filters, before=first.older, per_page=3)
    assert [e.action for e in second.events] == ["test.event3", "test.event2", "test.event1"]
    third = services.audit_page(db, filters, before=second.older, per_page=3)
    assert [e.action for e in third.events] == ["test.event0"] and third.older is None
    back = services.audit_page(db, filters, after=second.newer, per_page=3)
    assert [e.action for e in back.events] == ["test.event6", "test.event5", "test.event4"]
    assert back.newer is not None  # event7 is newer still


def test_the_page_links_to_older_and_newer_events(admin_client, db):
    base = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    for n in range(services.EVENTS_PER_PAGE + 2):
        add_event(db, "paging.test", base + timedelta(seconds=n))
    html = admin_client.get("/admin/audit?action=paging.").get_data(as_text=True)
    assert len(shown_actions(html)) == services.EVENTS_PER_PAGE
    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+)"', html).group(1)
    assert "Newer events" not in html
    html = admin_client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert len(shown_actions(html)) == 2 and "Newer events" in html and "Older events" not in html


def test_the_csv_download_is_filtered_safe_in_spreadsheets_and_itself_audited(
    admin_client, admin, history, db
):
    response = admin_client.get("/admin/audit.csv?object_type=User"
                                f"&object_id={history['amy'].id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-log-')
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # a byte order mark: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["action"] for r in rows] == ["export.my_data", "user.role_changed",
                                           "sign_in.succeeded"]
    assert rows[2]["time_utc"] == "2027-03-05T23:30:00+00:00" and rows[2]["ip"] == "203.0.113.7"
    assert '"reason": "=SUM(A1)"' in rows[1]["detail"]  # inside JSON, not at a cell's start
    [export] = db.exec(select(AuditEvent).where(AuditEvent.action == "export.audit_log")).all()
    assert export.actor_id == admin.id and export.ip == "127.0.0.1"
    assert export.detail == {"filters": {"object_type": "User",
                                         "object_id": str(history["amy"].id)}, "rows": 3}


def test_formula_cells_are_neutralised():
    from mentoring.spreadsheet import csv_text, safe_cell

    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    for start in "+-@\t\r":
        assert safe_cell(f"{start}1") == f"'{start}1"
    assert safe_cell("plain") == "plain"
    assert csv_text(["a", "b"], [(None, "=1")]) == "\ufeffa,b\r\n,'=1\r\n"


def test_a_formula_in_an_audited_value_is_neutralised_in_the_csv(admin_client, db, factory):
    add_event(db, "=cmd|' /C calc'!A0", datetime(2027, 2, 1, tzinfo=UTC), ip="-1+1")
    body = admin_client.get("/admin/audit.csv?action=%3Dcmd").get_data().decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["action"] == "'=cmd|' /C calc'!A0" and row["ip"] == "'-1+1"


# --- every security event is recorded ----------------------------------------------------------


def post(client, url, data, form_page=None):
    token = csrf_token(client.get(form_page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


SECURITY_EVENTS = {
    "sign_in.succeeded": "a sign-in",
    "sign_in.failed": "a wrong password",
    "sign_in.throttled": "an attempt while locked out",
    "sign_in.confirmed": "a password confirmed before a sensitive action",
    "password.changed": "a password change",
    "user.sessions_ended": "sign out everywhere",
    "user.role_changed": "a role change",
    "user.deactivated": "a deactivation",
    "user.reactivated": "a reactivation",
    "invitation.sent": "an invitation to a coordinator or admin",
    "export.my_data": "a leader downloading their data",
    "export.audit_log": "an admin downloading the audit log",
    "account.deleted": "a leader deleting their account",
}


def test_every_security_event_is_in_the_audit_log(app, db, factory, admin, admin_client):
    anyone = app.test_client()
    victim = factory.leader(email="victim@example.org").user
    post(anyone, "/sign-in", {"email": "victim@example.org", "password": "wrong-guess"})
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        post(anyone, "/sign-in", {"email": "victim@example.org", "password": "wrong-guess"})

    leaver = factory.leader(email="leaver@example.org").user
    leaver_client = SignedIn(app, leaver)
    assert leaver_client.get("/my-data/export.json").status_code == 200
    with leaver_client.client.session_transaction() as session:
        session["signed_in_at"] -= 3600
    post(leaver_client.client, "/sign-in/confirm", {"password": TEST_PASSWORD})
    leaver_client.post_form("/account/password", {
        "current": TEST_PASSWORD, "password": "another-long-passphrase",
        "confirm": "another-long-passphrase"})
    leaver_client.post_form("/account/sign-out-everywhere", form_page="/account")

    for action, data in [("role", {"role": "coordinator", "reason": "Promoted"}),
                         ("deactivate", {"reason": "Left"}),
                         ("reactivate", {"reason": "Returned"})]:
        admin_client.post_form(f"/admin/users/{victim.id}/{action}", data)
    admin_client.post_form("/admin/invite", {"email": "new@example.org", "role": "admin"})
    admin_client.get("/admin/audit.csv")

    deleting = SignedIn(app, factory.leader(email="deleting@example.org").user)
    deleting.post_form("/my-data/delete", {"password": TEST_PASSWORD})

    db.expire_all()
    recorded: dict[str, list[AuditEvent]] = {}
    for event in db.exec(select(AuditEvent)).all():
        recorded.setdefault(event.action, []).append(event)
    missing = {action: what for action, what in SECURITY_EVENTS.items() if action not in recorded}
    assert not missing, f"not in the audit log: {missing}"
    # From where, for events with a person behind them (a deleted account leaves no trace).
    for action in SECURITY_EVENTS.keys() - {"account.deleted"}:
        assert all(event.ip == "127.0.0.1" for event in recorded[action]), action
    assert recorded["sign_in.failed"][0].detail == {"email": "victim@example.org"}
    assert admin.email in {e.actor_email for e in recorded["sign_in.succeeded"]}
    assert {e.actor_email for e in recorded["user.role_changed"]} == {admin.email}
    # And the admin reads them on the audit log page.
    html = admin_client.get("/admin/audit?action=user.").get_data(as_text=True)
    assert {"user.role_changed", "user.deactivated", "user.reactivated"} <= set(
        shown_actions(html))
