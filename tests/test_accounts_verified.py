"""Accounts exist only for proved addresses (issue 15, items 1 and 2).

Registration stores nothing but a single-use link sent to the address; following the link (a
page with a button) is where the account is made and its password chosen. Someone who registers
another person's address gets nothing, whichever of the two comes first. Everything here goes
through the pages, as an attacker would."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mentoring.auth import joining
from mentoring.auth.services import authenticate
from mentoring.models import AuditEvent, RoundParticipant, User, utcnow

from conftest import TEST_PASSWORD, SignedIn, emails_to, path_in
from conftest import post_with_csrf as post

OWNER = "owner@example.org"
OWNERS_PASSWORD = "the-owners-own-passphrase"
ATTACKERS_PASSWORD = "the-attackers-passphrase"


def register(client, email, password=ATTACKERS_PASSWORD):
    """What anyone can send to /register (a password too, in case the page takes one)."""
    return post(client, "/register", {"email": email, "password": password, "confirm": password})


def user(db, email) -> User | None:
    db.expire_all()
    return db.exec(select(User).where(User.email == email)).first()


def follow_link(client, path, password):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return post(client, path, {"password": password, "confirm": password})


def test_registering_only_sends_a_link_and_makes_no_account(app, client, db):
    response = register(client, OWNER)
    assert "Check your email" in response.get_data(as_text=True)
    assert user(db, OWNER) is None
    [email] = emails_to(db, OWNER)
    assert email.subject == "Confirm your email address"
    assert client.get("/home").status_code == 302  # nothing signed in
    assert post(client.application.test_client(), "/sign-in",
                {"email": OWNER, "password": ATTACKERS_PASSWORD}).status_code == 400


def test_the_link_shows_a_page_and_the_account_is_made_when_it_is_posted(client, db):
    register(client, OWNER)
    path = path_in(emails_to(db, OWNER)[0], "/verify")
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Create your account" in text and OWNER in text
    assert page.headers["Cache-Control"] == "no-store"
    assert user(db, OWNER) is None  # opening the link (a mail scanner, say) makes nothing
    response = post(client, path, {"password": OWNERS_PASSWORD, "confirm": OWNERS_PASSWORD})
    assert response.headers["Location"] == "/profile/"
    assert client.get("/profile/").status_code == 200  # signed in
    owner = user(db, OWNER)
    assert owner.verified_at is not None
    assert authenticate(db, OWNER, OWNERS_PASSWORD) is not None


def test_attacker_first_then_owner_the_attacker_gets_nothing(app, db):
    attacker, owner = app.test_client(), app.test_client()
    register(attacker, OWNER, ATTACKERS_PASSWORD)
    assert post(attacker, "/sign-in", {"email": OWNER, "password": ATTACKERS_PASSWORD}
                ).status_code == 400
    register(owner, OWNER)
    first, second = emails_to(db, OWNER)  # both links went to the owner's mailbox only
    follow_link(owner, path_in(second, "/verify"), OWNERS_PASSWORD)
    assert post(attacker, "/sign-in", {"email": OWNER, "password": ATTACKERS_PASSWORD}
                ).status_code == 400
    assert attacker.get("/home").status_code == 302
    # The link the attacker's request sent is spent by the owner's account.
    response = attacker.get(path_in(first, "/verify"))
    assert response.status_code == 400
    assert "This link has already been used" in response.get_data(as_text=True)
    assert authenticate(db, OWNER, OWNERS_PASSWORD) is not None


def test_owner_first_then_attacker_the_attacker_gets_nothing(app, db):
    owner, attacker = app.test_client(), app.test_client()
    register(owner, OWNER)
    follow_link(owner, path_in(emails_to(db, OWNER)[0], "/verify"), OWNERS_PASSWORD)
    response = register(attacker, OWNER, ATTACKERS_PASSWORD)
    assert "Check your email" in response.get_data(as_text=True)
    assert emails_to(db, OWNER)[-1].subject == "You already have an account"
    assert post(attacker, "/sign-in", {"email": OWNER, "password": ATTACKERS_PASSWORD}
                ).status_code == 400
    assert authenticate(db, OWNER, OWNERS_PASSWORD) is not None
    assert owner.get("/home").status_code == 200  # the owner's session goes on


def test_an_account_nobody_proved_cannot_sign_in_with_its_password(app, factory, db):
    # Made before accounts waited for their link: an impostor's password, perhaps.
    impostor = factory.user(email=OWNER, verified_at=None)
    response = post(app.test_client(), "/sign-in", {"email": OWNER, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "Your email address or password is not right" in response.get_data(as_text=True)
    failed = db.exec(select(AuditEvent).where(AuditEvent.action == "sign_in.failed")).all()
    assert [event.actor_id for event in failed] == [impostor.id]


def test_proving_an_old_unproved_account_replaces_its_password(app, factory, db):
    factory.user(email=OWNER, verified_at=None)  # the impostor's password is TEST_PASSWORD
    owner = app.test_client()
    register(owner, OWNER)  # an unproved account gets a confirmation link, not "you have one"
    [email] = emails_to(db, OWNER)
    assert email.subject == "Confirm your email address"
    follow_link(owner, path_in(email, "/verify"), OWNERS_PASSWORD)
    assert authenticate(db, OWNER, TEST_PASSWORD) is None
    assert authenticate(db, OWNER, OWNERS_PASSWORD) is not None


def test_a_sign_in_link_to_an_unproved_account_ends_the_password_set_before(app, factory, db):
    impostor_session = app.test_client()
    factory.user(email=OWNER, verified_at=None)
    post(app.test_client(), "/sign-in/link", {"email": OWNER})
    path = path_in(emails_to(db, OWNER)[0], "/sign-in/link")
    owner = app.test_client()
    assert post(owner, path, {}).headers["Location"] == "/home"
    assert user(db, OWNER).verified_at is not None
    assert authenticate(db, OWNER, TEST_PASSWORD) is None
    assert impostor_session.get("/home").status_code == 302


@pytest.fixture
def links(app):
    settings = app.extensions["mentoring.settings"]
    return joining.Links(secret=settings.secret_key, base_url=settings.base_url)


def test_an_unproved_account_never_joins_a_round_through_an_invitation(app, factory, db,
                                                                       coordinator, links):
    programme_round = factory.programme_round(name="Spring exchange")
    impostor = factory.user(email=OWNER, verified_at=None)
    profile = factory.leader(user=impostor)
    joining.invite(db, links, OWNER, invited_by=coordinator, programme_round=programme_round)
    assert joining.join_invited_rounds(db, profile, impostor) == []
    assert db.exec(select(RoundParticipant).where(
        RoundParticipant.leader_id == profile.id)).first() is None


def test_accepting_an_invitation_takes_over_an_unproved_account(app, factory, db, coordinator,
                                                                links):
    programme_round = factory.programme_round(name="Spring exchange")
    factory.user(email=OWNER, verified_at=None)
    impostor_session = app.test_client()
    joining.invite(db, links, OWNER, invited_by=coordinator, programme_round=programme_round)
    [invitation] = emails_to(db, OWNER, kind="invitation")
    owner = app.test_client()
    response = post(owner, path_in(invitation, "/join"),
                    {"password": OWNERS_PASSWORD, "confirm": OWNERS_PASSWORD})
    assert response.headers["Location"] == "/profile/"
    assert authenticate(db, OWNER, TEST_PASSWORD) is None
    assert authenticate(db, OWNER, OWNERS_PASSWORD) is not None
    assert impostor_session.get("/home").status_code == 302


def test_an_invitation_to_a_proved_account_does_not_replace_its_password(app, factory, db,
                                                                         coordinator, links):
    factory.user(email=OWNER)
    joining.invite(db, links, OWNER, invited_by=coordinator,
                   programme_round=factory.programme_round())
    [invitation] = emails_to(db, OWNER, kind="invitation")
    response = post(app.test_client(), path_in(invitation, "/join"),
                    {"password": OWNERS_PASSWORD, "confirm": OWNERS_PASSWORD})
    assert "You already have an account: sign in instead" in response.get_data(as_text=True)
    assert authenticate(db, OWNER, TEST_PASSWORD) is not None


# --- item 2: the confirmation link works once --------------------------------------------


def test_the_confirmation_link_works_once(app, client, db):
    register(client, OWNER)
    path = path_in(emails_to(db, OWNER)[0], "/verify")
    follow_link(client, path, OWNERS_PASSWORD)
    again = app.test_client()
    for response in (again.get(path), post(again, path, {"password": ATTACKERS_PASSWORD,
                                                         "confirm": ATTACKERS_PASSWORD},
                                           form_page="/register")):
        assert response.status_code == 400
        assert "This link has already been used" in response.get_data(as_text=True)
    assert again.get("/home").status_code == 302
    assert authenticate(db, OWNER, ATTACKERS_PASSWORD) is None


def test_a_weak_password_on_the_link_page_keeps_the_link(client, db):
    register(client, OWNER)
    path = path_in(emails_to(db, OWNER)[0], "/verify")
    response = post(client, path, {"password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert "Enter at least 12 characters" in response.get_data(as_text=True)
    assert user(db, OWNER) is None
    follow_link(client, path, OWNERS_PASSWORD)
    assert user(db, OWNER).verified_at is not None


def test_a_forged_or_expired_confirmation_link_does_not_work(client, db):
    from mentoring.models import EmailLink

    assert client.get("/verify/forged").status_code == 400
    register(client, OWNER)
    path = path_in(emails_to(db, OWNER)[0], "/verify")
    for link in db.exec(select(EmailLink)).all():
        link.expires_at = utcnow()
        db.add(link)
    db.flush()
    response = client.get(path)
    assert response.status_code == 400 and "has expired" in response.get_data(as_text=True)


def unproved_account_with_a_link(app, factory, db):
    factory.user(email=OWNER, verified_at=None)
    register(app.test_client(), OWNER)
    return path_in(emails_to(db, OWNER)[0], "/verify")


def test_a_confirmation_link_dies_when_the_account_signs_out_everywhere(app, factory, db):
    path = unproved_account_with_a_link(app, factory, db)
    owner = user(db, OWNER)
    owner.verified_at = utcnow()  # proved since (a sign-in link, say), then signed in
    db.flush()
    signed_in = SignedIn(app, owner)
    signed_in.post_form("/account/sign-out-everywhere", form_page="/account")
    owner.verified_at = None
    db.flush()
    assert app.test_client().get(path).status_code == 400


def test_a_confirmation_link_dies_with_a_password_reset(app, factory, db):
    path = unproved_account_with_a_link(app, factory, db)
    client = app.test_client()
    post(client, "/reset-password", {"email": OWNER})
    reset = path_in(emails_to(db, OWNER, kind="reset_password")[0], "/reset-password")
    post(client, reset, {"password": OWNERS_PASSWORD, "confirm": OWNERS_PASSWORD})
    assert authenticate(db, OWNER, OWNERS_PASSWORD) is not None
    response = app.test_client().get(path)
    assert response.status_code == 400


def test_a_coordinator_adding_an_unproved_account_sends_an_invitation_instead(
        app, factory, db, coordinator, links):
    from mentoring.rounds import participants
    from mentoring.rounds.imports import Person

    programme_round = factory.programme_round(name="Spring exchange")
    impostor = factory.user(email=OWNER, verified_at=None)
    factory.leader(user=impostor)
    outcome = participants.add_people(db, links, programme_round,
                                      [Person(2, OWNER, "", "", "", "")], coordinator)
    assert outcome.invited == [OWNER] and outcome.added == []
    assert db.exec(select(RoundParticipant)).all() == []
    assert [n.kind for n in emails_to(db, OWNER)] == ["invitation"]


def test_a_confirmation_link_to_a_deactivated_account_does_not_work(app, factory, db):
    path = unproved_account_with_a_link(app, factory, db)
    owner = user(db, OWNER)
    owner.is_active = False
    db.flush()
    client = app.test_client()
    assert client.get(path).status_code == 400
    assert authenticate(db, OWNER, OWNERS_PASSWORD) is None
