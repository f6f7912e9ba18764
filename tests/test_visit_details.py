"""Visits that can happen (issue 14): a host's visit details (profile, copied to each exchange,
changed per exchange), what the visitor sees (exchange page, booking email, calendar event), the
partners' contact details once both accepted, the pair's shared note, and when feedback opens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from mentoring.exchanges import services, visits
from mentoring.exchanges.services import LeaderError, NotFound
from mentoring.models import AuditEvent, Exchange, LeaderProfile, Notification, ProfileDraft
from mentoring.offers.services import accept_offer
from mentoring.vocab import NotificationStatus

from conftest import SignedIn, csrf_token

NOW = datetime(2030, 2, 1, 12, 0, tzinfo=UTC)  # before the pair's upcoming exchange (5 March)
GRACE = {
    "visit_site": "Deptford Creek Health Centre",
    "visit_address": "27 Creekside Walk\nDeptford\nLondon SE8 4QX",
    "visit_directions": "Deptford Bridge DLR, 5 minutes' walk",
    "visit_meeting": "Main reception: ask for Grace; Jo Adeyemi meets you if Grace is busy",
    "visit_bring": "Photo ID. Smart casual",
    "visit_accessibility": "Step-free entrance and a lift",
    "visit_phone": "020 7946 0321",
}
WHERE = "Deptford Creek Health Centre, 27 Creekside Walk, Deptford, London SE8 4QX"
EXCHANGE_FORM = {
    "location": "Creekside Annexe", "address": "29 Creekside Walk\r\nLondon SE8 4QX",
    "directions": "Next door to the health centre", "meeting": "Ring the bell: Jo meets you",
    "bring": "Photo ID", "accessibility": "Step-free", "phone": "020 7946 0999",
}


@pytest.fixture
def grace(factory):
    return factory.mentor(email="grace@example.org", name="Grace Mensah", phone="07700 900 123",
                          job_title="PCN clinical director", **GRACE)


@pytest.fixture
def offered(factory, leader, grace):
    """Grace mentors Ada: an offer, its exchange to come (Grace hosts) held; Ada gave a phone."""
    leader.phone = "07700 900 456"
    pair = factory.matched(leader, grace, status="offered")
    visits.copy_from_host(pair.upcoming, grace)
    factory.session.add_all([leader, pair.upcoming])
    factory.session.flush()
    return pair


@pytest.fixture
def booked(db, leader, grace, offered):
    """Both have accepted: the exchange is booked, its emails written."""
    accept_offer(db, leader, leader.user, offered.match.id, NOW)
    accept_offer(db, grace, grace.user, offered.match.id, NOW)
    db.refresh(offered.upcoming)
    return offered


@pytest.fixture
def grace_client(app, grace) -> SignedIn:
    return SignedIn(app, grace.user)


def mail(db, kind: str, to: str, status=None) -> list[Notification]:
    query = select(Notification).where(Notification.kind == kind,
                                       Notification.recipient_email == to)
    if status:
        query = query.where(Notification.status == status)
    return list(db.exec(query.order_by(Notification.id)).all())


def event_of(ics: str):
    """The one VEVENT of an invitation, read back by the icalendar parser."""
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert len(events) == 1
    return events[0]


def text_of(html: str) -> str:
    """A page's text with the markup and repeated white space taken out."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the host's visit details on their profile ----------------------------------------------


@pytest.fixture
def new_host(app, factory):
    return SignedIn(app, factory.user(email="new.host@example.org"))


def answer(client, slug, data):
    return client.post_form(f"/profile/{slug}", data)


def test_a_host_is_asked_for_visit_details_after_hosting_and_others_are_not(new_host):
    response = answer(new_host, "hosting", {"can_host": "yes", "max_hosted_per_week": "1"})
    assert response.headers["Location"] == "/profile/visit-details"
    page = new_host.get("/profile/visit-details").get_data(as_text=True)
    assert "Visit details" in page and "Phone number on the day (optional)" in page
    assert "question 7 of 13" in page
    response = answer(new_host, "hosting", {"can_host": "no"})
    assert response.headers["Location"] == "/profile/strengths"
    # Someone who cannot host is not asked (and is sent back to their profile if they try).
    assert new_host.get("/profile/visit-details").headers["Location"] == "/profile/"
    assert "question 7 of 12" in new_host.get("/profile/strengths").get_data(as_text=True)
    overview = new_host.get("/profile/").get_data(as_text=True)
    assert "Visit details" not in overview


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "visit_site", "Enter the name of the site your visitors come to"),
        ({"visit_site": "A site"}, "visit_address", "Enter the address of the site"),
        ({**GRACE, "visit_phone": "123"}, "visit_phone", "Enter a phone number, like 020 7946"),
        ({**GRACE, "visit_phone": "call Jo"}, "visit_phone", "Enter a phone number"),
        ({**GRACE, "visit_site": "x" * 161}, "visit_site", "Enter no more than 160 characters"),
        ({**GRACE, "visit_directions": "x" * 1001}, "visit_directions",
         "Enter no more than 1000 characters"),
    ],
)
def test_visit_details_errors_are_shown_beside_their_field(db, new_host, data, field, message):
    answer(new_host, "hosting", {"can_host": "yes", "max_hosted_per_week": "1"})
    response = answer(new_host, "visit-details", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and f'href="#{field}"' in html
    assert re.search(rf'id="{field}-error"\s*>\s*<span[^>]*>Error: </span>{re.escape(message)}',
                     html), message
    # What was typed stays in the form.
    if data.get("visit_address"):
        assert "27 Creekside Walk" in html
    draft = db.exec(select(ProfileDraft).where(ProfileDraft.user_id == new_host.user.id)).one()
    assert "visit_site" not in draft.answers  # a refused page records nothing


def test_visit_details_are_kept_in_the_draft_and_saved_with_the_profile(db, new_host):
    from test_profile import ANSWERS

    for slug, data in ANSWERS.items():
        if slug == "visit-details":
            data = GRACE
        if slug == "about-you":
            data = {**data, "phone": " 07700  900 982 "}
        assert answer(new_host, slug, data).status_code == 302, slug
    draft = db.exec(select(ProfileDraft).where(ProfileDraft.user_id == new_host.user.id)).one()
    assert draft.answers["visit_address"] == GRACE["visit_address"]
    assert draft.answers["phone"] == "07700  900 982"  # as typed, but for the ends
    # Signed in elsewhere, the answers are still there.
    page = new_host.get("/profile/visit-details").get_data(as_text=True)
    assert "27 Creekside Walk\nDeptford" in page and 'value="020 7946 0321"' in page
    check = text_of(new_host.get("/profile/check").get_data(as_text=True))
    assert "Site for visits Deptford Creek Health Centre" in check
    assert "Address 27 Creekside Walk, Deptford, London SE8 4QX" in check
    assert "Phone number 07700 900 982" in check
    assert new_host.post_form("/profile/check").status_code == 302
    profile = db.exec(select(LeaderProfile).where(LeaderProfile.user_id == new_host.user.id)).one()
    assert {field: getattr(profile, field) for field in GRACE} == GRACE
    assert profile.phone == "07700 900 982"


def test_a_host_whose_profile_predates_visit_details_is_asked_for_them(app, factory):
    host = factory.mentor(email="old.host@example.org", max_hosted_per_week=1)  # no details
    client = SignedIn(app, host.user)
    overview = client.get("/profile/").get_data(as_text=True)
    assert "Continue your profile" in overview
    assert client.get("/profile/check").headers["Location"] == "/profile/visit-details"
    non_host = factory.leader(email="not.a.host@example.org")
    assert SignedIn(app, non_host.user).get("/profile/check").status_code == 200


def test_the_profile_phone_is_checked(new_host):
    response = answer(new_host, "about-you", {"name": "Priya Shah", "phone": "0800"})
    assert response.status_code == 400
    assert "Enter a phone number" in response.get_data(as_text=True)
    assert answer(new_host, "about-you", {"name": "Priya Shah", "phone": ""}).status_code == 302


# --- copied to each exchange ----------------------------------------------------------------


def test_approval_copies_each_hosts_details_and_booking_fills_the_gaps(app, db, factory,
                                                                      coordinator):
    from mentoring.matching.decisions import approve_run
    from mentoring.matching.runs import request_run, run_queued_optimisations
    from mentoring.models import Match

    from matching_world import make_round, worker

    small = make_round(factory)
    for number, person in enumerate(small.mentors + small.mentees):
        person.visit_site, person.visit_address = f"Site {number}", f"{number} High Street"
        db.add(person)
    run = request_run(db, small.round, coordinator, time_limit=30)
    db.commit()
    run_queued_optimisations(worker(app))
    db.refresh(run)
    # Approved well before the round (its hosts' notice), booked later at NOW.
    approve_run(db, run, coordinator, datetime(2029, 12, 1, 12, 0, tzinfo=UTC))
    db.commit()
    held = db.exec(select(Exchange)).all()
    assert held
    for exchange in held:
        host = db.get(LeaderProfile, exchange.host_id)
        assert (exchange.location, exchange.address) == (host.visit_site, host.visit_address)
        assert exchange.directions == ""
    # A host adds directions after the offer, then both accept: the invitation has them.
    match = db.exec(select(Match).where(Match.id == held[0].match_id)).one()
    mentor, mentee = db.get(LeaderProfile, match.mentor_id), db.get(LeaderProfile,
                                                                    match.mentee_id)
    for person in (mentor, mentee):
        person.visit_directions = f"Turn left at {person.name}'s"
        db.add(person)
    mine = db.exec(select(Exchange).where(Exchange.match_id == match.id)).all()
    mine[0].location = "The host's own choice for this one"
    db.add(mine[0])
    accept_offer(db, mentor, mentor.user, match.id, NOW)
    accept_offer(db, mentee, mentee.user, match.id, NOW)
    for exchange in mine:
        db.refresh(exchange)
        host = db.get(LeaderProfile, exchange.host_id)
        assert exchange.status == "scheduled"
        assert exchange.directions == f"Turn left at {host.name}'s"
    assert mine[0].location == "The host's own choice for this one"  # kept, not overwritten


def test_an_exchange_from_before_visit_details_takes_the_hosts_site_when_booked(db, grace):
    exchange = Exchange(match_id=1, host_id=grace.id, visitor_id=grace.id, starts_at=NOW,
                        ends_at=NOW, uid="x", location="Grace Mensah's workplace")
    visits.fill_from_host(exchange, grace)
    assert exchange.location == GRACE["visit_site"]
    assert exchange.address == GRACE["visit_address"]


# --- what the visitor is sent -----------------------------------------------------------------


def test_the_booking_email_gives_the_visitor_the_visit_details_and_contacts(db, leader, booked):
    [email] = mail(db, "exchange-confirmed", leader.user.email)
    text = email.body_text
    for expected in ("Where:   " + WHERE, "How to get there:\nDeptford Bridge DLR",
                     "When you arrive:\nMain reception", "What to bring or wear:\nPhoto ID",
                     "Accessibility:\nStep-free", "Phone on the day: 020 7946 0321",
                     "Email: grace@example.org", "Phone: 07700 900 123"):
        assert expected in text, expected
    html = email.body_html
    assert "27 Creekside Walk<br>Deptford<br>London SE8 4QX" in html
    assert 'href="tel:02079460321"' in html and 'href="tel:07700900123"' in html
    # And Grace is told Ada's address and phone.
    [to_grace] = mail(db, "exchange-confirmed", "grace@example.org")
    assert "Email: leader.a@example.org" in to_grace.body_text
    assert "Phone: 07700 900 456" in to_grace.body_text


def test_the_calendar_event_has_the_site_in_location_and_the_day_in_description(db, leader,
                                                                               booked):
    [email] = mail(db, "exchange-confirmed", leader.user.email)
    for ics in (email.ics, services.exchange_ics(db, leader, booked.upcoming.id,
                                                 "t@example.org")[0]):
        event = event_of(ics)
        assert str(event["LOCATION"]) == WHERE
        description = str(event["DESCRIPTION"])
        for expected in ("How to get there: Deptford Bridge DLR",
                         "When you arrive: Main reception: ask for Grace",
                         "What to bring or wear: Photo ID", "Phone on the day: 020 7946 0321",
                         f"/exchanges/{booked.upcoming.id}"):
            assert expected in description, expected


def test_details_with_markup_are_escaped_in_the_html_email(db, factory, leader, grace, offered):
    grace.visit_meeting = '<script>alert("x")</script> & ask for Jo'
    offered.upcoming.meeting = grace.visit_meeting
    db.add_all([grace, offered.upcoming])
    accept_offer(db, leader, leader.user, offered.match.id, NOW)
    accept_offer(db, grace, grace.user, offered.match.id, NOW)
    [email] = mail(db, "exchange-confirmed", leader.user.email)
    assert "<script>" not in email.body_html
    assert "&lt;script&gt;" in email.body_html and "&amp; ask for Jo" in email.body_html


# --- the host changes one exchange's details ------------------------------------------------


def test_the_host_changes_a_booked_exchanges_details_and_both_calendars_are_updated(
        db, leader, grace, booked, grace_client, leader_client):
    upcoming = booked.upcoming
    reminders_before = mail(db, "exchange-reminder", leader.user.email,
                            NotificationStatus.PENDING)
    assert reminders_before
    page = grace_client.get(f"/exchanges/{upcoming.id}/visit-details")
    assert page.status_code == 200 and "Deptford Creek Health Centre" in page.get_data(
        as_text=True)
    response = grace_client.post_form(f"/exchanges/{upcoming.id}/visit-details", EXCHANGE_FORM)
    assert response.status_code == 302
    db.refresh(upcoming)
    assert upcoming.location == "Creekside Annexe" and upcoming.sequence == 1
    assert upcoming.address == "29 Creekside Walk\nLondon SE8 4QX"  # a browser's CRLF as LF
    # The profile keeps Grace's usual details.
    db.refresh(grace)
    assert grace.visit_site == GRACE["visit_site"]
    # Both get the update with the invitation; the old reminders are replaced.
    for person in ("leader.a@example.org", "grace@example.org"):
        [update] = mail(db, "exchange-updated", person)
        event = event_of(update.ics)
        assert int(event["SEQUENCE"]) == 1 and str(event["UID"]) == upcoming.uid
        assert str(event["LOCATION"]) == "Creekside Annexe, 29 Creekside Walk, London SE8 4QX"
        assert "Phone on the day: 020 7946 0999" in str(event["DESCRIPTION"])
        assert "Creekside Annexe" in update.body_text
    [to_ada] = mail(db, "exchange-updated", "leader.a@example.org")
    assert "Grace Mensah has changed the visit details" in to_ada.body_text
    assert "The time is the same" in to_ada.body_text
    for reminder in reminders_before:
        db.refresh(reminder)
        assert reminder.status == NotificationStatus.WITHDRAWN
    new_reminders = mail(db, "exchange-reminder", leader.user.email, NotificationStatus.PENDING)
    assert len(new_reminders) == len(reminders_before)
    assert all("Creekside Annexe" in reminder.body_text for reminder in new_reminders)
    event = db.exec(select(AuditEvent).where(
        AuditEvent.action == "exchange.visit_details_changed")).one()
    assert set(event.detail["fields"]) == set(EXCHANGE_FORM)
    assert "Creekside" not in str(event.detail)  # which fields, not what they say
    # The visitor sees the new details on the exchange page.
    html = text_of(leader_client.get(f"/exchanges/{upcoming.id}").get_data(as_text=True))
    assert "Creekside Annexe 29 Creekside Walk London SE8 4QX" in html


def test_saving_the_same_details_sends_nothing(db, grace, booked, grace_client):
    upcoming = booked.upcoming
    same = {key: getattr(upcoming, key) for key in visits.DETAIL_FIELDS}
    response = grace_client.post_form(f"/exchanges/{upcoming.id}/visit-details", same)
    assert response.status_code == 302
    db.refresh(upcoming)
    assert upcoming.sequence == 0
    assert not mail(db, "exchange-updated", "grace@example.org")


def test_a_leaders_data_export_has_their_exchanges_visit_details_and_note(db, leader, grace,
                                                                           booked):
    from mentoring.mydata.services import export_data

    visits.save_note(db, grace, grace.user, booked.upcoming.id, "What does a good day look like?",
                     "", NOW)
    [exchange] = [x for x in export_data(db, leader.user, NOW)["exchanges"]
                  if x["id"] == booked.upcoming.id]
    assert exchange["address"] == GRACE["visit_address"]
    assert exchange["phone_on_the_day"] == GRACE["visit_phone"]
    assert exchange["shared_note"] == "What does a good day look like?"


def test_wrong_details_are_refused_with_errors_and_change_nothing(db, booked, grace_client):
    upcoming = booked.upcoming
    response = grace_client.post_form(f"/exchanges/{upcoming.id}/visit-details",
                                      {**EXCHANGE_FORM, "location": "", "phone": "999"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter the name of the site your visitor comes to" in html
    assert "Enter a phone number" in html and "29 Creekside Walk" in html
    db.refresh(upcoming)
    assert upcoming.location == GRACE["visit_site"] and upcoming.sequence == 0


def test_a_held_exchange_changes_quietly_and_a_past_one_not_at_all(db, grace, offered):
    changed = visits.change_details(db, grace, grace.user, offered.upcoming.id, EXCHANGE_FORM,
                                    NOW)
    assert "location" in changed and offered.upcoming.sequence == 0
    assert not db.exec(select(Notification).where(Notification.kind == "exchange-updated")).all()
    past = offered.past  # hosted by the mentee: not Grace's to change, whatever its date
    with pytest.raises(NotFound):
        visits.change_details(db, grace, grace.user, past.id, EXCHANGE_FORM, NOW)
    past.host_id, past.visitor_id = grace.id, offered.mentee.id
    db.add(past)
    with pytest.raises(LeaderError):
        visits.change_details(db, grace, grace.user, past.id, EXCHANGE_FORM, NOW)


def test_only_the_host_may_change_the_details(db, app, factory, leader, leader_client, booked):
    url = f"/exchanges/{booked.upcoming.id}/visit-details"
    assert leader_client.get(url).status_code == 404  # Ada visits: the details are Grace's
    assert leader_client.post_form(url, EXCHANGE_FORM,
                                   form_page=f"/exchanges/{booked.upcoming.id}").status_code == 404
    stranger = SignedIn(app, factory.leader(email="stranger@example.org").user)
    assert stranger.get(url).status_code == 404
    page = leader_client.get(f"/exchanges/{booked.upcoming.id}").get_data(as_text=True)
    assert "Change the visit details" not in page
    db.refresh(booked.upcoming)
    assert booked.upcoming.sequence == 0


# --- contacts: once both have accepted, and never another pair's ------------------------------


def test_contact_details_are_shared_only_once_both_have_accepted(db, leader, grace, offered,
                                                                 leader_client, grace_client):
    exchange_page = f"/exchanges/{offered.upcoming.id}"
    for client, hidden in ((leader_client, ("grace@example.org", "07700 900 123")),
                           (grace_client, ("leader.a@example.org", "07700 900 456"))):
        for url in (exchange_page, f"/matches/{offered.match.id}"):
            html = client.get(url).get_data(as_text=True)
            assert not [secret for secret in hidden if secret in html], url
    html = leader_client.get(exchange_page).get_data(as_text=True)
    assert "once you have both accepted the match" in html
    assert "020 7946 0321" not in html  # the phone for the day too
    assert "Deptford Creek Health Centre" in html  # where it is helps to decide
    accept_offer(db, leader, leader.user, offered.match.id, NOW)
    html = grace_client.get(exchange_page).get_data(as_text=True)
    assert "leader.a@example.org" not in html  # one acceptance is not enough
    accept_offer(db, grace, grace.user, offered.match.id, NOW)
    for client, shown in ((leader_client, ("grace@example.org", "tel:07700900123",
                                           "tel:02079460321")),
                          (grace_client, ("leader.a@example.org", "tel:07700900456"))):
        html = client.get(exchange_page).get_data(as_text=True)
        assert all(value in html for value in shown), shown
        match_page = client.get(f"/matches/{offered.match.id}").get_data(as_text=True)
        assert shown[0] in match_page


def test_another_pairs_visit_details_note_and_contacts_are_not_found(app, db, factory,
                                                                    leader_client, booked):
    theirs = factory.matched(factory.leader(name="Cat Other", phone="07700 900 777"),
                             factory.mentor(name="Bo Other", visit_site="Bo's Secret Site",
                                            visit_address="1 Hidden Road"))
    visits.copy_from_host(theirs.upcoming, theirs.mentor)
    db.add(theirs.upcoming)
    db.flush()
    form_page = f"/exchanges/{booked.upcoming.id}"
    for url in (f"/exchanges/{theirs.upcoming.id}",
                f"/exchanges/{theirs.upcoming.id}/visit-details"):
        assert leader_client.get(url).status_code == 404, url
    for url, data in ((f"/exchanges/{theirs.upcoming.id}/note", {"note": "Hello"}),
                      (f"/exchanges/{theirs.upcoming.id}/visit-details", EXCHANGE_FORM)):
        assert leader_client.post_form(url, data, form_page=form_page).status_code == 404, url
    db.refresh(theirs.upcoming)
    assert theirs.upcoming.note == "" and theirs.upcoming.location == "Bo's Secret Site"
    for url in ("/matches", form_page, "/reflections"):
        html = leader_client.get(url).get_data(as_text=True)
        assert "Secret Site" not in html and "07700 900 777" not in html, url
    with pytest.raises(NotFound):
        services.get_exchange(db, booked.mentee, theirs.upcoming.id)


# --- the shared note --------------------------------------------------------------------------


def note_form(client, exchange_id, text, version=None):
    page = client.get(f"/exchanges/{exchange_id}").get_data(as_text=True)
    if version is None:
        version = re.search(r'name="version" value="([^"]*)"', page).group(1)
    return client.client.post(f"/exchanges/{exchange_id}/note", data={
        "csrf_token": csrf_token(page), "note": text, "version": version})


def test_both_leaders_of_the_pair_write_the_shared_note(db, leader_client, grace_client,
                                                        booked):
    upcoming = booked.upcoming
    response = note_form(leader_client, upcoming.id, "How do you decide what to stop doing?")
    assert response.status_code == 302 and response.headers["Location"].endswith("#note")
    html = text_of(grace_client.get(f"/exchanges/{upcoming.id}").get_data(as_text=True))
    assert "How do you decide what to stop doing?" in html
    assert "Last changed by Ada Leader on" in html
    response = note_form(grace_client, upcoming.id, "And how do you tell your board?")
    assert response.status_code == 302
    db.refresh(upcoming)
    assert upcoming.note == "And how do you tell your board?"
    assert upcoming.note_updated_by_id == booked.mentor.id
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "exchange.note_changed")).all()
    assert len(events) == 2 and "board" not in str([event.detail for event in events])


def test_the_note_needs_the_forms_token(db, leader_client, booked):
    response = leader_client.client.post(f"/exchanges/{booked.upcoming.id}/note",
                                         data={"note": "Forged", "version": ""})
    assert response.status_code == 400
    db.refresh(booked.upcoming)
    assert booked.upcoming.note == ""


def test_a_long_note_is_refused_beside_the_field(db, leader_client, booked):
    response = note_form(leader_client, booked.upcoming.id, "x" * 501)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "There is a problem" in html and "Enter no more than 500 characters" in html
    assert "x" * 501 in html  # what was typed is kept
    db.refresh(booked.upcoming)
    assert booked.upcoming.note == ""


def test_a_note_changed_meanwhile_is_not_overwritten(db, leader, leader_client, grace,
                                                     booked):
    page = leader_client.get(f"/exchanges/{booked.upcoming.id}").get_data(as_text=True)
    seen = re.search(r'name="version" value="([^"]*)"', page).group(1)
    visits.save_note(db, grace, grace.user, booked.upcoming.id, "Grace's question", "", NOW)
    response = note_form(leader_client, booked.upcoming.id, "Ada's question", version=seen)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Grace Mensah changed the note while you were writing" in html
    assert "Grace&#39;s question" in html and "Ada&#39;s question" in html
    db.refresh(booked.upcoming)
    assert booked.upcoming.note == "Grace's question"


def test_no_note_before_the_exchange_is_booked(db, leader, leader_client, offered):
    html = leader_client.get(f"/exchanges/{offered.upcoming.id}").get_data(as_text=True)
    assert 'name="note"' not in html and "Once the exchange is booked" in html
    with pytest.raises(LeaderError):
        visits.save_note(db, leader, leader.user, offered.upcoming.id, "Hello", "", NOW)


# --- the exchange page is the place for the day -------------------------------------------------


def test_the_exchange_page_says_where_who_meets_you_and_when_feedback_opens(
        leader_client, booked):
    html = text_of(leader_client.get(f"/exchanges/{booked.upcoming.id}").get_data(as_text=True))
    for expected in (
        "When (UK time) Tuesday 5 March 2030, 9:00am to 1:00pm",
        "Where Deptford Creek Health Centre 27 Creekside Walk Deptford London SE8 4QX",
        "How to get there Deptford Bridge DLR", "When you arrive Main reception",
        "What to bring or wear Photo ID", "Accessibility Step-free",
        "Phone on the day 020 7946 0321", "Contacts Grace Mensah PCN clinical director",
        "The feedback form opens at 9am on Wednesday 6 March 2030, the morning after the visit",
        "The question you will explore",
    ):
        assert expected in html, expected


def test_feedback_opens_the_morning_after_at_nine_london_time(db, leader, booked):
    view = services.get_exchange(db, leader, booked.upcoming.id)
    opens = datetime(2030, 3, 6, 9, 0, tzinfo=UTC)  # GMT in March
    assert view.feedback_opens_at == opens
    assert not view.feedback_open(opens - timedelta(minutes=1))
    assert view.feedback_open(opens)
    with pytest.raises(LeaderError):
        services.give_feedback(db, leader, leader.user, booked.upcoming.id, {"rating": 4},
                               opens - timedelta(hours=1))
    # The request is emailed at that moment too.
    [request] = mail(db, "feedback-request", leader.user.email)
    assert request.due_at == opens


def test_the_feedback_link_before_it_opens_says_when(leader_client, booked):
    response = leader_client.get(f"/exchanges/{booked.upcoming.id}/feedback")
    assert response.status_code == 302
    page = leader_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The feedback form opens at 9am on Wednesday 6 March 2030." in page


def test_a_visitor_whose_host_gave_no_details_is_told_so(factory, leader, leader_client):
    pair = factory.matched(leader)  # the factory's exchange: "Guy's Hospital", no address
    pair.upcoming.location = ""
    factory.session.add(pair.upcoming)
    factory.session.flush()
    html = leader_client.get(f"/exchanges/{pair.upcoming.id}").get_data(as_text=True)
    assert f"{pair.mentor.name} has not given the address yet" in html


# --- migrating keeps the data -------------------------------------------------------------------


def test_migrating_down_and_up_keeps_every_row_and_the_address(tmp_path):
    """On SQLite, altering a table copies it and drops the old one: with foreign keys on, that
    drop would delete every match, exchange and booking referring to it (migrations/env.py)."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from mentoring.db import make_engine
    from mentoring.migrate import downgrade, upgrade

    from conftest import TEST_PASSWORD
    from factories import Factory

    engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    upgrade(engine)
    with Session(engine) as session:
        factory = Factory(session, TEST_PASSWORD)
        pair = factory.matched(factory.leader(phone="07700 900 111"))
        pair.upcoming.location, pair.upcoming.address = "Site", "1 Road\nLondon SE8 4QX"
        session.add(pair.upcoming)
        session.commit()
        exchange_id = pair.upcoming.id

    def rows() -> dict[str, int]:
        with engine.connect() as connection:
            return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}"))
                    .scalar_one() for table in ("leader_profile", "match", "exchange",
                                                "exchange_booking", "round_participant")}

    before = rows()
    assert before["exchange"] == 2 and before["exchange_booking"] == 2
    downgrade(engine, "0004")
    assert rows() == before
    with engine.connect() as connection:
        location = connection.execute(sa.text("SELECT location FROM exchange WHERE id = :id"),
                                      {"id": exchange_id}).scalar_one()
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert location == "Site, 1 Road\nLondon SE8 4QX"
    upgrade(engine)
    assert rows() == before
    engine.dispose()
