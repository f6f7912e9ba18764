"""A page per participant for coordinators (issue 17 item 3): their history in the round,
coordinators' private notes (in the leader's own export), and searching the participant list."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from mentoring import audit
from mentoring.models import AuditEvent, CoordinatorNote, Notification
from mentoring.mydata.services import export_data
from mentoring.rounds import people

NOW = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def round_of_three(db, factory):
    """Ada (mentee) is matched with Ben (mentor) and has a past and a coming exchange; Cy has
    joined but set no free time; Dee is invited only."""
    programme_round = factory.programme_round(name="People round")
    ada = factory.leader(email="ada@example.org", name="Ada Leader")
    ben = factory.mentor(email="ben@example.org", name="Ben Mentor")
    cy = factory.leader(email="cy@example.org", name="Cy Nofree")
    dee = factory.leader(email="dee@example.org", name="Dee Invited")
    for leader in (ada, ben, cy):
        factory.participant(programme_round, leader)
    factory.participant(programme_round, dee, status="invited")
    for day in (date(2027, 1, 12), date(2027, 1, 19), date(2027, 1, 26)):
        factory.availability(programme_round, ada, day, "am")  # Tuesdays
    factory.availability(programme_round, ada, date(2027, 1, 14), "pm")
    match = factory.match(programme_round, ben, ada, status="accepted")
    factory.exchange(match, datetime(2027, 1, 12, 9, 0, tzinfo=UTC), status="completed")
    factory.exchange(match, datetime(2027, 2, 2, 13, 0, tzinfo=UTC), host_id=ada.id,
                     visitor_id=ben.id)
    db.add(Notification(idempotency_key="people:1", kind="offer_extended",
                        recipient_email="ada@example.org", subject="You have a match",
                        body_text="Hello", round_id=programme_round.id))
    audit.record(db, "profile.updated", actor=ada.user, obj=ada)
    db.flush()
    return programme_round, ada, ben, cy, dee


def test_the_page_shows_a_participants_history_in_the_round(db, round_of_three):
    programme_round, ada, *_ = round_of_three
    page = people.person_page(db, programme_round, ada.id)
    assert page.profile.name == "Ada Leader" and page.user.email == "ada@example.org"
    assert (page.free.half_days, page.free.first, page.free.last) == (
        4, date(2027, 1, 12), date(2027, 1, 26))
    assert page.free.usual[0] == "Tuesday mornings"
    assert [(line.other.name, line.role, line.match.status) for line in page.matches] == [
        ("Ben Mentor", "mentee", "accepted")]
    assert [(line.hosting, line.exchange.status) for line in page.exchanges] == [
        (False, "completed"), (True, "scheduled")]
    assert [email.subject for email in page.emails] == ["You have a match"]
    assert [event.action for event in page.events] == ["profile.updated"]


def test_only_participants_of_the_round_have_a_page(db, factory, round_of_three):
    programme_round, *_ = round_of_three
    stranger = factory.leader(email="stranger@example.org")
    assert people.person_page(db, programme_round, stranger.id) is None
    other_round = factory.programme_round(name="Other round")
    assert people.person_page(db, other_round, round_of_three[1].id) is None


def test_a_note_is_private_audited_without_its_text_and_in_the_leaders_export(
        db, coordinator, round_of_three):
    programme_round, ada, ben, _, _ = round_of_three
    people.add_note(db, programme_round, ada, coordinator, "  Prefers Tuesdays.\r\nCall first. ",
                    NOW)
    [note] = people.notes_about(db, ada.id)
    assert (note.text, note.author_email) == ("Prefers Tuesdays.\nCall first.",
                                              coordinator.email)
    [event] = db.exec(select(AuditEvent).where(
        AuditEvent.action == "participant.note_added")).all()
    assert event.object_id == str(ada.id) and "Tuesdays" not in json.dumps(event.detail)
    exported = export_data(db, ada.user, NOW)
    assert exported["coordinator_notes"] == [{
        "written_at": note.created_at.isoformat(), "by": coordinator.email,
        "text": "Prefers Tuesdays.\nCall first."}]
    assert export_data(db, ben.user, NOW)["coordinator_notes"] == []


@pytest.mark.parametrize(("text", "message"), [
    ("   ", "Enter your note"), ("x" * 4001, "Enter no more than 4,000 characters"),
    ("a\x00b", "Remove the NUL character from your note"),
])
def test_a_note_that_cannot_be_kept_says_why(db, coordinator, round_of_three, text, message):
    programme_round, ada, *_ = round_of_three
    with pytest.raises(people.NoteError) as error:
        people.add_note(db, programme_round, ada, coordinator, text, NOW)
    assert error.value.errors == {"text": message}
    assert db.exec(select(CoordinatorNote)).all() == []


def test_the_page_adds_a_note_and_keeps_the_input_on_an_error(
        db, coordinator_client, round_of_three):
    programme_round, ada, *_ = round_of_three
    db.commit()
    url = f"/rounds/{programme_round.id}/participants/{ada.id}"
    page = coordinator_client.get(url).get_data(as_text=True)
    for shown in ("Ada Leader", "Ben Mentor", "Tuesday mornings", "You have a match",
                  "profile.updated", "notes</h2>"):
        assert shown in page, shown
    too_long = "y" * 4001
    refused = coordinator_client.post_form(url, {"text": too_long})
    assert refused.status_code == 400
    assert too_long in refused.get_data(as_text=True)
    saved = coordinator_client.post_form(url, {"text": "Met at the launch: keen on hosting."})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#notes")
    assert "Met at the launch: keen on hosting." in coordinator_client.get(url).get_data(
        as_text=True)


def test_leaders_cannot_see_a_participants_page(db, leader_client, coordinator_client,
                                                round_of_three):
    programme_round, ada, *_ = round_of_three
    db.commit()
    assert leader_client.get(f"/rounds/{programme_round.id}/participants/{ada.id}"
                             ).status_code == 403
    assert coordinator_client.get(f"/rounds/{programme_round.id}/participants/999999"
                                  ).status_code == 404


@pytest.mark.parametrize(("query", "shown"), [
    ("", ["Ada Leader", "Ben Mentor", "Cy Nofree"]),
    ("?q=ben", ["Ben Mentor"]),
    ("?q=EXAMPLE.ORG+leader", ["Ada Leader"]),
    ("?readiness=not-ready", ["Ben Mentor", "Cy Nofree"]),  # Ben set no free half-days either
    ("?status=withdrawn", []),
    ("?status=nonsense&readiness=bogus", ["Ada Leader", "Ben Mentor", "Cy Nofree"]),
])
def test_the_participant_list_searches_and_filters(db, coordinator_client, round_of_three,
                                                   query, shown):
    programme_round, *_ = round_of_three
    db.commit()
    page = coordinator_client.get(f"/rounds/{programme_round.id}/participants{query}"
                                  ).get_data(as_text=True)
    table = page.split("Taking part", 1)[1].split("</table>", 1)[0] if shown else ""
    listed = [name for name in ("Ada Leader", "Ben Mentor", "Cy Nofree") if name in table]
    assert listed == shown
    if not shown:
        assert "Nobody matches your search." in page


# --- the waiting list ------------------------------------------------------------------------


def test_the_waiting_list_names_who_waits_and_why(db, factory, coordinator, round_of_three):
    from mentoring.models import OptimiserRun
    from mentoring.rounds.waiting import waiting_list, waiting_list_csv

    programme_round, _, ben, cy, _ = round_of_three
    ben.mentor_capacity = 3  # one taken by Ada
    cy.wants_mentor = True
    eve = factory.leader(email="eve@example.org", name="Eve Unmatched", wants_mentor=True)
    factory.participant(programme_round, eve)
    factory.availability(programme_round, eve, date(2027, 1, 12), "am")
    db.add_all([ben, cy])
    db.flush()
    waiting = {(w.row.profile.name, w.role): (w.spare, w.reason)
               for w in waiting_list(db, programme_round)}
    assert waiting == {
        ("Cy Nofree", "mentee"): (0, "Has not said when they are free in this round"),
        ("Eve Unmatched", "mentee"): (0, "Not in a matching run yet"),
        ("Ben Mentor", "mentor"): (2, "Has not said when they are free in this round"),
    }  # Ada has a mentor; Dee is only invited
    db.add(OptimiserRun(round_id=programme_round.id, status="succeeded", finished_at=NOW,
                        solution={"pairs": [], "unmatched": [
                            {"id": str(eve.id), "reason": "No mentor is free when they are"}]}))
    db.flush()
    [eve_waits] = [w for w in waiting_list(db, programme_round)
                   if w.row.profile.name == "Eve Unmatched"]
    assert eve_waits.reason == "No mentor is free when they are"
    csv_file = waiting_list_csv(db, programme_round, coordinator)
    assert csv_file.rows == 3 and csv_file.filename.endswith("waiting-list.csv")
    assert "Eve Unmatched,eve@example.org,mentee,," in csv_file.text
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "export.waiting_list")).one()


def test_the_waiting_list_page_and_download(db, coordinator_client, leader_client,
                                            round_of_three):
    programme_round, *_ = round_of_three
    db.commit()
    url = f"/rounds/{programme_round.id}/waiting-list"
    page = coordinator_client.get(url).get_data(as_text=True)
    assert "Waiting list" in page and "Mentees without a mentor" in page
    download = coordinator_client.get(f"/rounds/{programme_round.id}/export/waiting-list.csv")
    assert download.mimetype == "text/csv"
    assert download.get_data(as_text=True).startswith("\ufeffleader_id,name,email,waiting_as")
    assert leader_client.get(url).status_code == 403


# --- one set of numbers: "invited" ----------------------------------------------------------


def test_invited_is_one_figure_on_the_round_page_and_the_dashboard(db, factory, coordinator,
                                                                   coordinator_client):
    """Invited and not joined: invitations not yet taken up, and participants still marked
    invited, each person once (the dashboard said 0 where the round page said 34)."""
    from mentoring.auth import joining
    from mentoring.auth.joining import Links
    from mentoring.insights.figures import dashboard
    from mentoring.rounds.participants import counts

    programme_round = factory.programme_round(name="Counting round")
    links = Links(secret="s" * 40, base_url="http://localhost")
    for email in ("one@example.org", "two@example.org", "joined@example.org"):
        joining.invite(db, links, email, invited_by=coordinator, programme_round=programme_round)
    factory.participant(programme_round, factory.leader(email="joined@example.org"))
    factory.participant(programme_round, factory.leader(email="three@example.org"),
                        status="invited")
    db.commit()
    assert counts(db, programme_round)["invited"] == 3
    assert dashboard(db, programme_round.id, NOW).participation.invited == 3
    overview = coordinator_client.get(f"/rounds/{programme_round.id}").get_data(as_text=True)
    board = coordinator_client.get(f"/rounds/{programme_round.id}/dashboard").get_data(
        as_text=True)
    assert "3 invited, not yet joined" in " ".join(board.split())
    assert re.search(r"Invited, not yet joined\s*</dt>\s*<dd[^>]*>\s*3\s*</dd>", overview)
