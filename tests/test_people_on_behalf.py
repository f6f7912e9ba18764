"""A coordinator acting on a participant's behalf (issue 17 item 3): withdrawing them from a round
exactly as if they had left, and correcting their profile with the same rules as their own
pages; each audited as the coordinator's act, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mentoring.models import AuditEvent, Exchange, LeaderProfile, Match, RoundParticipant

from conftest import emails_to


@pytest.fixture
def pair(db, factory):
    """Ada (mentee) booked with Ben (mentor): one exchange done, one to come."""
    programme_round = factory.programme_round(name="Behalf round")
    ada = factory.leader(email="ada@example.org", name="Ada Leader", profession="nurse",
                         protected_hours_per_month=8, strengths=["system_leadership"])
    ben = factory.mentor(email="ben@example.org", name="Ben Mentor")
    for leader in (ada, ben):
        factory.participant(programme_round, leader)
    match = factory.match(programme_round, ben, ada, status="accepted")
    done = factory.exchange(match, datetime(2026, 1, 12, 9, 0, tzinfo=UTC), status="completed")
    coming = factory.exchange(match, datetime(2030, 2, 2, 13, 0, tzinfo=UTC), host_id=ada.id,
                              visitor_id=ben.id)
    db.commit()
    return programme_round, ada, ben, match, done, coming


def url(programme_round, leader, what=""):
    return f"/rounds/{programme_round.id}/participants/{leader.id}{what}"


def test_withdrawing_on_behalf_ends_matches_tells_everyone_and_is_audited(
        db, coordinator, coordinator_client, pair):
    programme_round, ada, _, match, done, coming = pair
    person = coordinator_client.get(url(programme_round, ada)).get_data(as_text=True)
    assert url(programme_round, ada, "/withdraw") in person
    form = coordinator_client.get(url(programme_round, ada, "/withdraw"))
    assert form.status_code == 200 and "their 1 match in this round ends" in form.get_data(
        as_text=True)

    refused = coordinator_client.post_form(url(programme_round, ada, "/withdraw"), {"reason": " "})
    assert refused.status_code == 400
    assert "Enter why you are withdrawing Ada Leader" in refused.get_data(as_text=True)

    done_response = coordinator_client.post_form(
        url(programme_round, ada, "/withdraw"), {"reason": "Moved to a new post in Kent"})
    assert done_response.status_code == 302
    db.expire_all()
    participant = db.exec(select(RoundParticipant).where(
        RoundParticipant.round_id == programme_round.id,
        RoundParticipant.leader_id == ada.id)).one()
    assert (participant.status, participant.withdrawal_reason) == (
        "withdrawn", "Moved to a new post in Kent")
    assert db.get(Match, match.id).status == "cancelled"
    assert db.get(Exchange, coming.id).status == "cancelled"
    assert db.get(Exchange, done.id).status == "completed"  # history stays
    [event] = db.exec(select(AuditEvent).where(AuditEvent.action == "round.withdrawn")).all()
    assert (event.actor_id, event.detail["reason"], event.detail["on_behalf_of_user_id"]) == (
        coordinator.id, "Moved to a new post in Kent", ada.user_id)
    [told] = emails_to(db, "ada@example.org", "you-left")
    assert told.subject == "You have been withdrawn from Behalf round"
    assert "Moved to a new post in Kent" in told.body_text
    assert emails_to(db, "ben@example.org")  # the partner hears, as when a leader leaves
    again = coordinator_client.get(url(programme_round, ada)).get_data(as_text=True)
    assert url(programme_round, ada, "/withdraw") not in again


def test_a_leader_leaving_themself_is_still_told_in_their_own_words(db, pair):
    from mentoring.models import utcnow
    from mentoring.mydata.services import withdraw

    programme_round, ada, *_ = pair
    withdraw(db, ada, ada.user, programme_round.id, "", utcnow())
    [told] = emails_to(db, "ada@example.org", "you-left")
    assert told.subject == "You have left Behalf round"
    assert "withdrawn you" not in told.body_text
    [event] = db.exec(select(AuditEvent).where(AuditEvent.action == "round.withdrawn")).all()
    assert event.actor_id == ada.user_id and "on_behalf_of_user_id" not in event.detail


def form_of(profile: LeaderProfile, **changes) -> dict[str, str]:
    def text(value):
        return "" if value is None else str(value)

    def yes_no(value):
        return "yes" if value else "no"

    return {
        "name": profile.name, "job_title": profile.job_title, "phone": profile.phone,
        "profession": profile.profession, "organisation_id": text(profile.organisation_id),
        "sector": profile.sector, "borough": profile.borough,
        "career_stage": profile.career_stage, "mentor_capacity": text(profile.mentor_capacity),
        "wants_mentor": yes_no(profile.wants_mentor), "can_host": yes_no(profile.can_host),
        "max_hosted_per_week": text(profile.max_hosted_per_week),
        "protected_hours_per_month": text(profile.protected_hours_per_month),
        "line_manager_name": profile.line_manager_name,
        "line_manager_email": profile.line_manager_email,
    } | changes


def test_a_coordinator_corrects_a_profile_with_the_leaders_rules_and_a_reason(
        db, coordinator, coordinator_client, pair):
    programme_round, ada, *_ = pair
    edit = url(programme_round, ada, "/profile")
    page = coordinator_client.get(edit)
    assert page.status_code == 200 and 'value="Ada Leader"' in page.get_data(as_text=True)

    refused = coordinator_client.post_form(edit, form_of(
        ada, protected_hours_per_month="lots", line_manager_email="ada@example.org"))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'value="lots"' in html  # the input kept
    assert "Enter why you are changing their profile" in html
    assert "not their own" in html
    db.expire_all()
    assert db.get(LeaderProfile, ada.id).protected_hours_per_month == 8

    saved = coordinator_client.post_form(edit, form_of(
        ada, borough="bromley", protected_hours_per_month="12", job_title="",
        reason="Asked by email to correct her borough and hours"))
    assert saved.status_code == 302
    db.expire_all()
    profile = db.get(LeaderProfile, ada.id)
    assert (profile.borough, profile.protected_hours_per_month, profile.job_title) == (
        "bromley", 12, "")
    assert profile.strengths == ["system_leadership"] and profile.consent_at is not None
    [event] = db.exec(select(AuditEvent).where(
        AuditEvent.action == "profile.updated_on_behalf")).all()
    assert event.actor_id == coordinator.id and event.object_id == str(ada.id)
    assert event.detail["reason"] == "Asked by email to correct her borough and hours"
    changed = {"borough", "protected_hours_per_month"} | ({"job_title"} if ada.job_title
                                                         else set())
    assert set(event.detail["fields"]) == changed
    assert "bromley" not in str(event.detail)  # names of fields, not their values


def test_only_coordinators_act_and_only_on_the_rounds_own_participants(
        db, factory, leader_client, coordinator_client, pair):
    programme_round, ada, *_ = pair
    other_round = factory.programme_round(name="Other round")
    db.commit()
    for what in ("/withdraw", "/profile"):
        assert leader_client.get(url(programme_round, ada, what)).status_code == 403
        assert coordinator_client.get(url(other_round, ada, what)).status_code == 404
        assert coordinator_client.post_form(url(other_round, ada, what), {"reason": "x"},
                                            form_page=url(programme_round, ada, what)
                                            ).status_code == 404
