"""'You said, we did': the coordinator writes and publishes it (audited); only leaders who took
part in the round can read it, and only once it is published."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mentoring.models import AuditEvent

from conftest import SignedIn

TEXT = "You asked for more notice.\r\n\r\nWe now book exchanges <four> weeks ahead."


@pytest.fixture
def programme_round(factory, leader):
    programme_round = factory.programme_round(name="Spring round")
    factory.participant(programme_round, leader)
    return programme_round


def url(programme_round, suffix: str = "") -> str:
    return f"/rounds/{programme_round.id}/you-said-we-did{suffix}"


def actions(db, programme_round) -> list[str]:
    return [event.action for event in db.exec(
        select(AuditEvent).where(AuditEvent.object_type == "ProgrammeRound",
                                 AuditEvent.object_id == str(programme_round.id))
        .order_by(AuditEvent.id)
    ).all()]


def test_publishing_needs_text_and_keeps_what_was_typed(coordinator_client, db, programme_round):
    response = coordinator_client.post_form(url(programme_round), {"text": "  ",
                                                                   "action": "publish"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter what you did before publishing" in html and 'href="#text"' in html
    response = coordinator_client.post_form(url(programme_round), {
        "text": "x" * 10_001, "action": "save"})
    assert response.status_code == 400
    assert "Enter no more than 10,000 characters" in response.get_data(as_text=True)
    assert "x" * 10_001 + "</textarea>" in response.get_data(as_text=True)
    db.refresh(programme_round)
    assert programme_round.you_said_we_did_published_at is None
    assert actions(db, programme_round) == []


def test_draft_publish_read_and_unpublish(coordinator_client, leader_client, db, coordinator,
                                          programme_round):
    read = url(programme_round, "/read")
    response = coordinator_client.post_form(url(programme_round), {"text": TEXT,
                                                                   "action": "save"})
    assert response.status_code == 302
    db.refresh(programme_round)
    assert programme_round.you_said_we_did == TEXT.replace("\r\n", "\n")
    assert programme_round.you_said_we_did_published_at is None
    assert leader_client.get(read).status_code == 404  # a draft is not for leaders
    assert "You said, we did" not in leader_client.get("/home").get_data(as_text=True)

    response = coordinator_client.post_form(url(programme_round), {"text": TEXT,
                                                                   "action": "publish"})
    assert response.status_code == 302
    db.refresh(programme_round)
    assert programme_round.you_said_we_did_published_at is not None
    page = coordinator_client.get(url(programme_round)).get_data(as_text=True)
    assert "Published on" in page and "Unpublish" in page

    html = leader_client.get(read).get_data(as_text=True)
    assert "<p>You asked for more notice.</p>" in html
    assert "<p>We now book exchanges &lt;four&gt; weeks ahead.</p>" in html  # escaped
    home = leader_client.get("/home").get_data(as_text=True)
    assert f'href="{read}"' in home

    response = coordinator_client.post_form(url(programme_round, "/unpublish"),
                                            form_page=url(programme_round))
    assert response.status_code == 302
    db.refresh(programme_round)
    assert programme_round.you_said_we_did_published_at is None
    assert leader_client.get(read).status_code == 404
    assert actions(db, programme_round) == [
        "you_said_we_did.saved", "you_said_we_did.published", "you_said_we_did.unpublished"]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "you_said_we_did.published")
                    ).one()
    assert event.actor_id == coordinator.id
    assert event.detail == {"characters": len(TEXT) - 2}  # line ends saved as LF


def test_only_leaders_who_took_part_can_read_it(app, factory, leader_client, programme_round):
    programme_round.you_said_we_did = "We listened."
    programme_round.you_said_we_did_published_at = programme_round.created_at
    factory.session.add(programme_round)
    factory.session.flush()
    read = url(programme_round, "/read")
    assert leader_client.get(read).status_code == 200
    outsider = factory.leader(name="Not In It")
    invited = factory.leader(name="Only Invited")
    factory.participant(programme_round, invited, status="invited")
    withdrawn = factory.leader(name="Left Early")
    factory.participant(programme_round, withdrawn, status="withdrawn")
    assert SignedIn(app, outsider.user).get(read).status_code == 404
    assert SignedIn(app, invited.user).get(read).status_code == 404
    assert SignedIn(app, withdrawn.user).get(read).status_code == 200
    no_profile = factory.user(email="no.profile@example.org")
    assert SignedIn(app, no_profile).get(read).status_code == 404
    assert leader_client.get(url(programme_round, "/read").replace(
        str(programme_round.id), str(programme_round.id + 1000))).status_code == 404


def test_coordinators_cannot_use_the_leaders_page(coordinator_client, programme_round):
    assert coordinator_client.get(url(programme_round, "/read")).status_code == 403


def test_emptying_a_published_page_unpublishes_it(coordinator_client, db, programme_round):
    coordinator_client.post_form(url(programme_round), {"text": "We listened.",
                                                        "action": "publish"})
    coordinator_client.post_form(url(programme_round), {"text": "", "action": "save"})
    db.refresh(programme_round)
    assert programme_round.you_said_we_did_published_at is None
    assert actions(db, programme_round)[-1] == "you_said_we_did.unpublished"
