"""The outbox page with rows in every state, in a real browser with axe, and its retry button."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mentoring.models import Notification
from mentoring.notifications import enqueue

from accessibility import assert_accessible
from conftest import TEST_PASSWORD, browser_sign_in
from factories import Factory


@pytest.mark.browser
def test_outbox_page_is_accessible_and_retry_works(page, live_server):
    with live_server.session() as session:
        factory = Factory(session, TEST_PASSWORD)
        coordinator = factory.user(email="outbox.coord@example.org", role="coordinator")
        programme_round = factory.programme_round(name="Outbox round")
        for n, status in enumerate(["pending", "sent", "failed"]):
            enqueue(session, key=f"outbox-browser:{n}", kind="test",
                    recipient_email=f"p{n}@example.org", subject=f"Message {n}",
                    template="offer_extended", due_at=datetime(2027, 3, 1, tzinfo=UTC),
                    round_id=programme_round.id,
                    context={"name": "P", "other_name": "X", "respond_by": "1 March 2027",
                         "match_url": "http://127.0.0.1:5000/matches/1"})
            row = session.exec(select(Notification).where(
                Notification.idempotency_key == f"outbox-browser:{n}")).one()
            row.status, row.last_error = status, "SMTP 451: try later" if n == 2 else ""
            if status == "sent":
                row.sent_at = datetime(2027, 3, 1, 9, tzinfo=UTC)
            session.add(row)
        session.commit()
        email, round_id = coordinator.email, programme_round.id

    browser_sign_in(page, live_server.url, email)  # with the second factor
    page.goto(f"{live_server.url}/rounds/{round_id}/outbox")
    assert page.locator("h1").count() == 1
    assert page.locator("caption").count() == 3
    assert_accessible(page)
    page.get_by_role("button", name="Retry email to p2@example.org").click()
    page.wait_for_url(f"{live_server.url}/rounds/{round_id}/outbox")
    assert "sent again" in page.content()
    assert page.get_by_text("No email has failed.").count() == 1
    assert_accessible(page)
