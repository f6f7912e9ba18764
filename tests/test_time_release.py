"""Line managers release leaders' protected time (issue 14, item 4): asked when both leaders
accept, in rounds that ask; a signed, expiring, single-purpose link with no account; release, or
decline with a reason (handled like a request to move); leaders, coordinators and the dashboard
see the answers; every answer is audited."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlmodel import select

from mentoring.auth.tokens import make_token
from mentoring.insights.figures import dashboard
from mentoring.matching.changes import exchanges_to_release, pending_changes
from mentoring.models import AuditEvent, Notification, TimeRelease, utcnow
from mentoring.notifications.outbox import absolute
from mentoring.offers.services import accept_offer
from mentoring.releases import services
from mentoring.releases.services import InvalidLink, LinkState, NotYours, ReleaseError

from conftest import SignedIn, csrf_token

MANAGER = "helen.okafor@example.nhs.uk"
PARTNERS_MANAGER = "sam.adeyemi@example.nhs.uk"


def book(factory, db, *, asks: bool = True, mentee_manager: str = MANAGER,
         mentor_manager: str = PARTNERS_MANAGER, now=None):
    """Ravi (mentee) and Grace (mentor) both accept their offer: the match is booked."""
    mentee = factory.leader(name="Ravi Sivakumar", job_title="Pharmacist manager",
                            protected_hours_per_month=8, line_manager_name="Helen Okafor"
                            if mentee_manager else "", line_manager_email=mentee_manager)
    mentor = factory.mentor(name="Grace Mensah", line_manager_name="Sam Adeyemi",
                            line_manager_email=mentor_manager)
    now = now or utcnow()
    pair = factory.matched(mentee, mentor, status="offered", offered_at=now - timedelta(days=2),
                           respond_by=now + timedelta(days=5))
    pair.round.ask_line_manager_release = asks
    db.add(pair.round)
    db.flush()
    accept_offer(db, mentee, mentee.user, pair.match.id, now)
    accept_offer(db, mentor, mentor.user, pair.match.id, now)
    db.flush()
    return pair


def release_of(db, pair, leader) -> TimeRelease | None:
    return db.exec(select(TimeRelease).where(TimeRelease.match_id == pair.match.id,
                                             TimeRelease.leader_id == leader.id)).first()


def mail(db, kind: str, to: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    if to:
        query = query.where(Notification.recipient_email == to)
    return list(db.exec(query).all())


def token_in(notification: Notification) -> str:
    found = re.search(r"/release/(\S+)", notification.body_text)
    assert found, "no link in the email"
    return found.group(1)


def manager_token(db, to: str = MANAGER) -> str:
    return token_in(mail(db, services.Kind.REQUEST, to)[-1])


def audit_actions(db, release: TimeRelease) -> list[str]:
    return list(db.exec(select(AuditEvent.action).where(
        AuditEvent.object_type == "TimeRelease", AuditEvent.object_id == str(release.id))
        .order_by(AuditEvent.id)).all())


# --- asking ----------------------------------------------------------------------------------


def test_booking_emails_each_line_manager_a_signed_absolute_link_with_dates_and_hours(
        app, db, factory):
    pair = book(factory, db)
    release = release_of(db, pair, pair.mentee)
    assert release.status == "requested" and release.manager_email == MANAGER
    assert release.exchanges == [[pair.upcoming.id, pair.upcoming.sequence]]  # not the past one
    assert release.expires_at <= release.requested_at + timedelta(days=30)
    (email,) = mail(db, services.Kind.REQUEST, MANAGER)
    body = email.body_text
    assert email.round_id == pair.round.id and "Ravi Sivakumar" in email.subject
    assert absolute("/release/") in body and body.count("http://localhost/release/") == 1
    assert "Dear Helen Okafor" in body and "Pharmacist manager" in body
    assert "Tuesday 5 March 2030, 9:00am to 1:00pm" in body  # the exchange, UK time
    assert "visiting Grace Mensah's workplace (4 hours)" in body
    assert "In all, 4 hours of Ravi Sivakumar's protected time" in body
    assert "up to 8 hours a month" in body and "do not need an account" in body
    assert f'href="{absolute("/release/" + token_in(email))}"' in email.body_html
    # Grace's manager is asked about Grace, who hosts.
    (other,) = mail(db, services.Kind.REQUEST, PARTNERS_MANAGER)
    assert "hosting Ravi Sivakumar at their own workplace" in other.body_text
    assert audit_actions(db, release) == ["time_release.requested"]


def test_a_round_that_does_not_ask_emails_no_manager(app, db, factory):
    pair = book(factory, db, asks=False)
    assert release_of(db, pair, pair.mentee) is None
    assert mail(db, services.Kind.REQUEST) == []
    assert services.for_leader(db, pair.match, pair.mentee) is None


def test_turning_the_setting_on_asks_for_matches_already_booked(app, db, factory,
                                                                  coordinator_client):
    pair = book(factory, db, asks=False)
    from test_rounds import posted

    from mentoring.rounds.services import form_from_round

    data = posted(form_from_round(pair.round)) | {"ask_line_manager_release": "yes"}
    response = coordinator_client.post_form(f"/rounds/{pair.round.id}/edit", data)
    assert response.status_code == 302
    db.refresh(pair.round)
    assert pair.round.ask_line_manager_release
    assert len(mail(db, services.Kind.REQUEST)) == 2
    overview = coordinator_client.get(f"/rounds/{pair.round.id}").get_data(as_text=True)
    assert "Asked once both leaders accept" in overview
    # And off again: the form's unticked checkbox sends nothing.
    data.pop("ask_line_manager_release")
    assert coordinator_client.post_form(f"/rounds/{pair.round.id}/edit", data).status_code == 302
    db.refresh(pair.round)
    assert not pair.round.ask_line_manager_release


def test_a_leader_without_a_line_manager_is_told_how_to_add_one_and_adding_asks(
        app, db, factory):
    pair = book(factory, db, mentee_manager="")
    assert release_of(db, pair, pair.mentee) is None
    assert mail(db, services.Kind.REQUEST, PARTNERS_MANAGER)  # Grace's manager is asked
    signed_in = SignedIn(app, pair.mentee.user)
    page = signed_in.get(f"/matches/{pair.match.id}").get_data(as_text=True)
    assert "Time from your line manager" in page and "/profile/line-manager" in page
    counts = services.round_releases(db, pair.round.id, utcnow())
    assert (counts.waiting, counts.not_asked) == (1, 1)

    response = signed_in.post_form("/profile/line-manager", {
        "line_manager_name": "Helen Okafor", "line_manager_email": MANAGER})
    assert response.status_code == 302
    assert signed_in.post_form("/profile/check").status_code == 302
    assert release_of(db, pair, pair.mentee).manager_email == MANAGER
    assert len(mail(db, services.Kind.REQUEST, MANAGER)) == 1


def test_correcting_the_managers_address_asks_the_new_one_and_kills_the_old_link(
        app, db, factory, client):
    pair = book(factory, db)
    old_token = manager_token(db)
    pair.mentee.line_manager_email = "helen.okafor@nhs.net"
    db.add(pair.mentee)
    assert services.ask_after_profile_change(db, pair.mentee, utcnow()) == 1
    new_token = manager_token(db, "helen.okafor@nhs.net")
    assert client.get(f"/release/{old_token}").status_code == 400
    assert client.get(f"/release/{new_token}").status_code == 200
    release = release_of(db, pair, pair.mentee)
    event = db.exec(select(AuditEvent).where(AuditEvent.object_id == str(release.id))
                    .order_by(AuditEvent.id.desc())).first()
    assert event.detail["replaces"] == MANAGER
    # Saving again changes nothing: the new manager has their link.
    assert services.ask_after_profile_change(db, pair.mentee, utcnow()) == 0


# --- the link ----------------------------------------------------------------------------------


def test_the_public_page_needs_only_the_token_and_shows_the_leader_dates_and_hours(
        app, db, factory, client):
    pair = book(factory, db)
    response = client.get(f"/release/{manager_token(db)}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Release Ravi Sivakumar's time for the leadership exchange" in page
    assert "Tuesday 5 March 2030, 9:00am to 1:00pm" in page and "Visiting Grace Mensah" in page
    assert "4 hours</strong>" in page and "Can you release this time?" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert release_of(db, pair, pair.mentee).status == "requested"  # looking decides nothing


@pytest.mark.parametrize("how", ["altered signature", "altered payload", "another purpose",
                                 "another secret", "not a token"])
def test_a_wrong_or_altered_token_is_refused(app, db, factory, client, how):
    pair = book(factory, db)
    token = manager_token(db)
    release = release_of(db, pair, pair.mentee)
    secret = app.extensions["mentoring.settings"].secret_key
    payload = {"r": release.id, "n": release.nonce}
    wrong = {
        "altered signature": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "altered payload": make_token(secret, services.PURPOSE, {**payload, "r": release.id + 1}
                                      ).split(".")[0] + "." + ".".join(token.split(".")[1:]),
        "another purpose": make_token(secret, "invitation", payload),
        "another secret": make_token("x" * 48, services.PURPOSE, payload),
        "not a token": "not-a-valid-token",
    }[how]
    with pytest.raises(InvalidLink):
        services.open_link(db, wrong, utcnow())
    page = client.get(f"/release/{wrong}")
    assert page.status_code == 400 and "This link does not work" in page.get_data(as_text=True)
    form = client.get(f"/release/{token}").get_data(as_text=True)
    refused = client.post(f"/release/{wrong}", data={"csrf_token": csrf_token(form),
                                                     "decision": "release"})
    assert refused.status_code == 400
    assert release_of(db, pair, pair.mentee).status == "requested"


def _token_signed_days_ago(secret: str, payload: dict, days: int) -> str:
    class SignedThen(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 24 * 3600

    return URLSafeTimedSerializer(secret, salt=services.PURPOSE, signer=SignedThen).dumps(payload)


def test_the_link_expires_after_thirty_days_or_after_the_last_exchange(app, db, factory, client):
    pair = book(factory, db)
    token = manager_token(db)
    release = release_of(db, pair, pair.mentee)
    secret = app.extensions["mentoring.settings"].secret_key
    payload = {"r": release.id, "n": release.nonce}
    assert services.open_link(db, _token_signed_days_ago(secret, payload, 29), utcnow())
    with pytest.raises(InvalidLink):  # signed 31 days ago: the signature itself has expired
        services.open_link(db, _token_signed_days_ago(secret, payload, 31), utcnow())

    # The request's own end: its exchanges are over (or 30 days have passed).
    later = release.expires_at + timedelta(minutes=1)
    link = services.open_link(db, token, later)
    assert link.state == LinkState.EXPIRED
    with pytest.raises(ReleaseError):
        services.decide(db, link, "release", "", later)
    release.expires_at = utcnow() - timedelta(minutes=1)
    db.add(release)
    db.flush()
    page = client.get(f"/release/{token}")
    assert page.status_code == 400 and "This link has expired" in page.get_data(as_text=True)
    assert "Can you release this time?" not in page.get_data(as_text=True)
    assert release_of(db, pair, pair.mentee).status == "requested"
    counts = services.round_releases(db, pair.round.id, utcnow())
    assert [row.expired for row in counts.rows if row.release.id == release.id] == [True]


def test_the_decision_is_made_once_and_a_second_use_shows_it(app, db, factory, client):
    pair = book(factory, db)
    token = manager_token(db)
    page = client.get(f"/release/{token}").get_data(as_text=True)
    response = client.post(f"/release/{token}", data={"csrf_token": csrf_token(page),
                                                      "decision": "release"})
    assert response.status_code == 302 and response.headers["Location"] == f"/release/{token}"
    again = client.get(f"/release/{token}").get_data(as_text=True)
    assert "You have answered" in again and "You released Ravi Sivakumar's time" in again
    assert "Can you release this time?" not in again
    # A second answer through the same link changes nothing.
    second = client.post(f"/release/{token}", data={"csrf_token": csrf_token(page),
                                                    "decision": "decline", "reason": "Rota"})
    assert second.status_code == 200 and "You released" in second.get_data(as_text=True)
    release = release_of(db, pair, pair.mentee)
    assert release.status == "released" and release.reason == ""
    assert audit_actions(db, release) == ["time_release.requested", "time_release.released"]
    # Two pages opened before either answer: only the first answer counts.
    other = release_of(db, pair, pair.mentor)
    first = services.open_link(db, manager_token(db, PARTNERS_MANAGER), utcnow())
    stale = services.open_link(db, manager_token(db, PARTNERS_MANAGER), utcnow())
    services.decide(db, first, "decline", "Board week", utcnow())
    with pytest.raises(ReleaseError):
        services.decide(db, stale, "release", "", utcnow())
    db.refresh(other)
    assert (other.status, other.reason) == ("declined", "Board week")


def test_nothing_to_answer_once_the_exchanges_are_not_going_ahead(app, db, factory, client):
    pair = book(factory, db)
    token = manager_token(db)
    pair.upcoming.starts_at += timedelta(days=7)  # moved: still to answer, at its new date
    pair.upcoming.ends_at += timedelta(days=7)
    pair.upcoming.sequence += 1
    db.add(pair.upcoming)
    db.flush()
    page = client.get(f"/release/{token}").get_data(as_text=True)
    assert "Tuesday 12 March 2030" in page and "Can you release this time?" in page
    pair.upcoming.status = "cancelled"
    db.add(pair.upcoming)
    db.flush()
    page = client.get(f"/release/{token}").get_data(as_text=True)
    assert "Nothing to answer" in page and "Can you release this time?" not in page
    form_token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    response = client.post(f"/release/{token}", data={"csrf_token": form_token,
                                                      "decision": "release"})
    assert response.status_code == 200
    assert release_of(db, pair, pair.mentee).status == "requested"
    assert not services.for_leader(db, pair.match, pair.mentee).release.decided_at


# --- release and decline -------------------------------------------------------------------------


def test_a_release_tells_the_leader_and_is_audited(app, db, factory, client):
    pair = book(factory, db)
    token = manager_token(db)
    page = client.get(f"/release/{token}").get_data(as_text=True)
    client.post(f"/release/{token}", data={"csrf_token": csrf_token(page),
                                           "decision": "release", "reason": "ignored"})
    release = release_of(db, pair, pair.mentee)
    assert release.status == "released" and release.decided_at is not None
    (told,) = mail(db, services.Kind.RELEASED_LEADER, pair.mentee.user.email)
    assert "Helen Okafor has released your time" in told.body_text
    assert mail(db, services.Kind.DECLINED_COORDINATOR) == []
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "time_release.released")).one()
    assert event.actor_id is None and event.detail["manager_email"] == MANAGER
    assert event.ip == "127.0.0.1"
    leader_page = SignedIn(app, pair.mentee.user).get(f"/matches/{pair.match.id}")
    assert "Time released" in leader_page.get_data(as_text=True)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({}, "decision", "Select whether you can release this time"),
    ({"decision": "maybe"}, "decision", "Select whether you can release this time"),
    ({"decision": "decline"}, "reason", "Tell us why you cannot release this time"),
    ({"decision": "decline", "reason": "   "}, "reason",
     "Tell us why you cannot release this time"),
    ({"decision": "decline", "reason": "x" * 1001}, "reason", "Enter no more than 1000"),
])
def test_errors_are_shown_beside_the_field_and_nothing_is_recorded(app, db, factory, client,
                                                                    data, field, message):
    pair = book(factory, db)
    token = manager_token(db)
    page = client.get(f"/release/{token}").get_data(as_text=True)
    response = client.post(f"/release/{token}", data={"csrf_token": csrf_token(page), **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and message in html
    assert f'href="#{field}' in html and "nhsuk-error-message" in html
    if data.get("reason", "").strip():
        assert data["reason"][:50] in html  # what they typed is kept
    assert release_of(db, pair, pair.mentee).status == "requested"


def test_a_decline_reaches_the_coordinators_the_changes_list_and_the_leader_kindly(
        app, db, factory, client, coordinator, coordinator_client):
    pair = book(factory, db)
    token = manager_token(db)
    page = client.get(f"/release/{token}").get_data(as_text=True)
    client.post(f"/release/{token}", data={
        "csrf_token": csrf_token(page), "decision": "decline",
        "reason": "Our CQC inspection is that week; any date in April works"})
    release = release_of(db, pair, pair.mentee)
    assert release.status == "declined" and release.reason.startswith("Our CQC inspection")
    (to_coordinator,) = mail(db, services.Kind.DECLINED_COORDINATOR, coordinator.email)
    assert "Ravi Sivakumar and Grace Mensah" in to_coordinator.subject
    assert "Our CQC inspection" in to_coordinator.body_text and MANAGER in to_coordinator.body_text
    assert absolute(f"/rounds/{pair.round.id}/changes") in to_coordinator.body_text
    (to_leader,) = mail(db, services.Kind.DECLINED_LEADER, pair.mentee.user.email)
    assert "not a judgement on you" in to_leader.body_text
    assert "Nothing is cancelled yet" in to_leader.body_text
    assert {x.status for x in [pair.upcoming]} == {"scheduled"}  # nothing cancelled

    # On the changes list, like a request to move, until the exchange is moved.
    (change,) = [c for c in pending_changes(db, pair.round, utcnow())
                 if c.kind == "release_declined"]
    assert change.summary == "Ravi Sivakumar's line manager cannot release their time"
    assert "Our CQC inspection" in change.detail and "Grace Mensah" in change.detail
    assert set(change.leader_ids) == {pair.mentor.id, pair.mentee.id}
    assert pair.upcoming.id in exchanges_to_release(db, pair.round, {pair.mentee.id})
    changes_page = coordinator_client.get(f"/rounds/{pair.round.id}/changes")
    html = changes_page.get_data(as_text=True)
    assert "Time not released" in html and "Our CQC inspection" in html
    assert "Time from line managers" in html and MANAGER in html
    pair.upcoming.sequence += 1  # a coordinator moved it: the decline is answered
    db.add(pair.upcoming)
    db.flush()
    assert not [c for c in pending_changes(db, pair.round, utcnow())
                if c.kind == "release_declined"]

    leader_page = SignedIn(app, pair.mentee.user).get(f"/matches/{pair.match.id}")
    text = leader_page.get_data(as_text=True)
    assert "Time not released" in text and "Our CQC inspection" in text
    assert audit_actions(db, release)[-1] == "time_release.declined"


# --- access ----------------------------------------------------------------------------------


def test_the_leader_cannot_decide_for_their_manager(app, db, factory):
    pair = book(factory, db)
    token = manager_token(db)
    leader = SignedIn(app, pair.mentee.user)
    match_page = leader.get(f"/matches/{pair.match.id}").get_data(as_text=True)
    assert token not in match_page and "/release/" not in match_page
    assert "We emailed Helen Okafor" in match_page
    page = leader.get(f"/release/{token}")
    assert page.status_code == 403
    assert "This link is for your line manager" in page.get_data(as_text=True)
    home = leader.get("/home").get_data(as_text=True)
    response = leader.client.post(f"/release/{token}", data={"csrf_token": csrf_token(home),
                                                             "decision": "release"})
    assert response.status_code == 403
    link = services.open_link(db, token, utcnow())
    with pytest.raises(NotYours):
        services.decide(db, link, "release", "", utcnow(), viewer_user_id=pair.mentee.user_id)
    assert release_of(db, pair, pair.mentee).status == "requested"
    # Nor can they name themself as their manager.
    response = leader.post_form("/profile/line-manager", {
        "line_manager_name": "Me", "line_manager_email": pair.mentee.user.email.upper()})
    assert response.status_code == 400
    assert "not your own" in response.get_data(as_text=True)


def test_the_partner_does_not_see_the_leaders_release(app, db, factory):
    pair = book(factory, db)
    page = SignedIn(app, pair.mentor.user).get(f"/matches/{pair.match.id}")
    html = page.get_data(as_text=True)
    assert "We emailed Sam Adeyemi" in html and "Helen Okafor" not in html


# --- the profile question -------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    ({"line_manager_name": "Helen", "line_manager_email": "not-an-address"},
     "Enter an email address in the correct format"),
    ({"line_manager_name": "Helen", "line_manager_email": ""},
     "email address, or leave both empty"),
])
def test_the_line_manager_question_checks_the_address(app, leader_client, data, message):
    response = leader_client.post_form("/profile/line-manager", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert 'href="#line_manager_email' in html and 'value="Helen"' in html


def test_the_line_manager_is_optional_and_shown_on_check_answers(app, leader_client, db,
                                                                 leader):
    assert leader_client.post_form("/profile/line-manager", {}).status_code == 302
    assert leader_client.post_form("/profile/line-manager", {
        "line_manager_name": "Helen Okafor", "line_manager_email": " Helen.Okafor@NHS.net "}
    ).status_code == 302
    check = leader_client.get("/profile/check").get_data(as_text=True)
    assert "Helen Okafor, Helen.Okafor@NHS.net" in check  # as typed, until saved
    leader_client.post_form("/profile/check")
    db.refresh(leader)
    assert (leader.line_manager_name, leader.line_manager_email) == ("Helen Okafor",
                                                                     "helen.okafor@nhs.net")


# --- what coordinators see ------------------------------------------------------------------------


def test_the_dashboard_counts_released_declined_and_waiting(app, db, factory,
                                                           coordinator_client):
    first = book(factory, db)
    second = book(factory, db, mentee_manager="")
    # Both pairs in one round: move the second match into the first round.
    second.match.round_id = first.round.id
    db.add(second.match)
    db.flush()
    now = utcnow()
    services.decide(db, services.open_link(db, manager_token(db, MANAGER), now), "release",
                    "", now)
    partner_tokens = [token_in(n) for n in mail(db, services.Kind.REQUEST, PARTNERS_MANAGER)]
    services.decide(db, services.open_link(db, partner_tokens[0], now), "decline", "Rota", now)
    figures = dashboard(db, first.round.id, now)
    counts = figures.releases
    assert (counts.released, counts.declined, counts.waiting, counts.not_asked) == (1, 1, 1, 1)
    html = coordinator_client.get(f"/rounds/{first.round.id}/dashboard").get_data(as_text=True)
    assert "Time from line managers" in html
    assert "1 released, 1 declined, 1 waiting (1 booked leader named no line manager)" in html
    csv = coordinator_client.get(f"/rounds/{first.round.id}/report.csv").get_data(as_text=True)
    assert "line managers' answers,released,1" in csv


def test_the_dashboard_says_nothing_of_releases_when_the_round_does_not_ask(app, db, factory):
    pair = book(factory, db, asks=False)
    assert not dashboard(db, pair.round.id, utcnow()).releases.shown


def test_the_link_is_made_with_the_apps_secret(app):
    release = SimpleNamespace(id=1, nonce="n")
    link = services.link_for(release)
    token = link.rsplit("/", 1)[1]
    secret = app.extensions["mentoring.settings"].secret_key
    assert URLSafeTimedSerializer(secret, salt="time-release").loads(token) == {"r": 1, "n": "n"}


def test_the_demo_round_asks_and_the_booked_pairs_managers_have_their_links(app, db, client):
    from mentoring.demo import load_demo

    load_demo(db, leaders=5)
    emails = mail(db, services.Kind.REQUEST)
    assert sorted(email.recipient_email for email in emails) == [
        "helen.okafor@demo.example.nhs.uk", "kwame.asante@demo.example.nhs.uk"]
    page = client.get(f"/release/{token_in(emails[0])}")
    assert page.status_code == 200 and "Can you release this time?" in page.get_data(as_text=True)
