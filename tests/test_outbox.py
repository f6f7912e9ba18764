"""The coordinator's outbox page: what is pending, sent and failed, and retrying a failure."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from mentoring.models import Notification
from mentoring.notifications import enqueue

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def add(db, round_id, n: int, status: str, error: str = "") -> Notification:
    enqueue(db, key=f"outbox-test:{n}", kind="test", recipient_email=f"person{n}@example.org",
            subject=f"Message {n}", template="offer_extended", due_at=NOW, round_id=round_id,
            context={"name": "P", "other_name": "X", "respond_by": "1 March 2027",
                         "match_url": "http://127.0.0.1:5000/matches/1"})
    row = db.exec(select(Notification).where(
        Notification.idempotency_key == f"outbox-test:{n}")).one()
    row.status, row.last_error, row.attempts = status, error, 8 if status == "failed" else 0
    db.add(row)
    db.flush()
    return row


def test_coordinators_see_pending_sent_and_failed_emails(db, factory, coordinator_client):
    programme_round = factory.programme_round(name="Autumn round")
    add(db, programme_round.id, 1, "pending")
    add(db, programme_round.id, 2, "sent")
    add(db, programme_round.id, 3, "failed", "SMTP 550: mailbox unavailable")
    other_round = factory.programme_round()
    add(db, other_round.id, 4, "failed", "not this round")
    page = coordinator_client.get(f"/rounds/{programme_round.id}/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<h1") == 1 and "Autumn round" in html
    assert "SMTP 550: mailbox unavailable" in html and "not this round" not in html
    assert "person1@example.org" in html and "person2@example.org" in html
    assert html.count("<caption") == 3 and 'scope="col"' in html and "Retry" in html


def test_a_coordinator_retries_a_failed_email(db, factory, coordinator_client):
    programme_round = factory.programme_round()
    row = add(db, programme_round.id, 5, "failed", "timed out")
    url = f"/rounds/{programme_round.id}/outbox"
    response = coordinator_client.post_form(f"/notifications/{row.id}/retry", form_page=url)
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    db.expire_all()
    again = db.get(Notification, row.id)
    assert again.status == "pending" and again.attempts == 0
    assert "sent again" in coordinator_client.get(url).get_data(as_text=True)


def test_retry_needs_the_csrf_token_and_the_role(db, factory, coordinator_client, leader_client):
    programme_round = factory.programme_round()
    row = add(db, programme_round.id, 6, "failed", "timed out")
    assert coordinator_client.client.post(f"/notifications/{row.id}/retry").status_code == 400
    assert leader_client.client.post(f"/notifications/{row.id}/retry").status_code in (400, 403)
    db.expire_all()
    assert db.get(Notification, row.id).status == "failed"


def test_unknown_round_is_404(coordinator_client):
    assert coordinator_client.get("/rounds/999999/outbox").status_code == 404
