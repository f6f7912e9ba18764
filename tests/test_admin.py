"""Administration (issue 8, part 4): finding users, roles, deactivation, ending sessions,
inviting coordinators and admins. The audit log has its own file (test_admin_audit.py)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from mentoring.admin import services
from mentoring.admin.services import AdminError
from mentoring.auth import joining
from mentoring.models import AuditEvent, Notification, User

from conftest import SignedIn, answer_second_factor, csrf_token, set_up_authenticator_app

NEW_PASSWORD = "a-brand-new-passphrase"


def events(db, action) -> list[AuditEvent]:
    db.expire_all()
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)
                        .order_by(AuditEvent.id)).all())


def table_emails(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/users/\d+">([^<]+)</a>', html)


# --- who may use the admin pages ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["leader", "coordinator"])
def test_only_admins_reach_the_admin_pages_and_actions(app, factory, leader, role):
    user = leader.user if role == "leader" else factory.user(role="coordinator")
    signed = SignedIn(app, user)
    target = factory.user(email="target@example.org")
    for path in ["/admin/users", f"/admin/users/{target.id}", "/admin/audit", "/admin/audit.csv",
                 "/admin/invite", f"/admin/users/{target.id}/role"]:
        assert signed.get(path).status_code == 403, path
    token = csrf_token(signed.get("/home").get_data(as_text=True))
    for action in ["role", "deactivate", "reactivate", "sign-out"]:
        response = signed.client.post(f"/admin/users/{target.id}/{action}",
                                      data={"csrf_token": token, "role": "admin", "reason": "x"})
        assert response.status_code == 403, action


def test_an_unknown_user_is_not_found(admin_client):
    assert admin_client.get("/admin/users/999999").status_code == 404
    assert admin_client.get("/admin/users/999999/role").status_code == 404


def test_admin_posts_need_csrf(admin_client, leader, db):
    response = admin_client.client.post(f"/admin/users/{leader.user.id}/deactivate",
                                        data={"reason": "No token"})
    assert response.status_code == 400
    assert "Your form expired" in response.get_data(as_text=True)
    db.refresh(leader.user)
    assert leader.user.is_active


# --- finding users -------------------------------------------------------------------------


@pytest.fixture
def people(factory):
    return {
        "amy": factory.leader(email="amy@lewisham.nhs.uk", name="Amy Ambler").user,
        "bob": factory.user(email="bob@guys.nhs.uk", role="coordinator"),
        "cat": factory.user(email="cat@lewisham.nhs.uk", role="leader", is_active=False),
        "dan": factory.user(email="dan_x@kings.nhs.uk", role="admin"),
    }


def test_users_are_found_by_part_of_their_email_role_and_status(admin_client, people):
    html = admin_client.get("/admin/users?email=LEWISHAM").get_data(as_text=True)
    assert table_emails(html) == ["amy@lewisham.nhs.uk", "cat@lewisham.nhs.uk"]
    assert "Amy Ambler" in html  # the leader's name beside the address
    html = admin_client.get("/admin/users?email=lewisham&status=active").get_data(as_text=True)
    assert table_emails(html) == ["amy@lewisham.nhs.uk"]
    html = admin_client.get("/admin/users?status=deactivated").get_data(as_text=True)
    assert table_emails(html) == ["cat@lewisham.nhs.uk"]
    assert "Deactivated" in html  # in words, not only a colour
    html = admin_client.get("/admin/users?role=coordinator").get_data(as_text=True)
    assert table_emails(html) == ["bob@guys.nhs.uk"]
    # The search keeps what was typed and chosen.
    assert 'value="lewisham"' in admin_client.get("/admin/users?email=lewisham").get_data(
        as_text=True)
    assert re.search(r'<option value="coordinator"\s+selected', html)


def test_the_email_search_treats_wildcards_as_plain_characters(admin_client, people):
    html = admin_client.get("/admin/users?email=_").get_data(as_text=True)
    assert table_emails(html) == ["dan_x@kings.nhs.uk"]
    html = admin_client.get("/admin/users?email=%25").get_data(as_text=True)
    assert table_emails(html) == []


def test_the_user_list_is_paginated(db, factory, admin):
    for n in range(7):
        factory.user(email=f"page{n}@example.org")
    first = services.find_users(db, services.UserFilters(email="page"), page=1, per_page=3)
    last = services.find_users(db, services.UserFilters(email="page"), page=3, per_page=3)
    assert (first.total, first.pages) == (7, 3)
    assert [r.user.email for r in first.rows] == ["page0@example.org", "page1@example.org",
                                                  "page2@example.org"]
    assert [r.user.email for r in last.rows] == ["page6@example.org"]
    beyond = services.find_users(db, services.UserFilters(email="page"), page=99, per_page=3)
    assert beyond.page == 3  # a page past the end shows the last one


def test_the_user_page_shows_pagination_links_keeping_the_filters(admin_client, factory):
    for n in range(services.USERS_PER_PAGE + 5):
        factory.user(email=f"many{n:03}@example.org")
    html = admin_client.get("/admin/users?email=many&page=2").get_data(as_text=True)
    assert "page 2 of 2" in html
    assert len(table_emails(html)) == 5
    assert re.search(r'href="/admin/users\?email=many&(amp;)?page=1"', html)


# --- the user page and decisions ----------------------------------------------------------------


def test_the_user_page_shows_the_account_and_its_recent_activity(admin_client, leader, db):
    SignedIn(admin_client.client.application, leader.user)  # a sign-in to show
    html = admin_client.get(f"/admin/users/{leader.user.id}").get_data(as_text=True)
    assert "<h1>leader.a@example.org</h1>" in html
    assert "sign_in.succeeded" in html and "UTC" in html
    assert f"/admin/users/{leader.user.id}/role" in html
    assert f"/admin/users/{leader.user.id}/deactivate" in html


@pytest.mark.parametrize(("action", "button"), [
    ("role", "Change role"), ("deactivate", "Deactivate account"),
    ("reactivate", "Reactivate account"), ("sign-out", "Sign them out everywhere"),
])
def test_each_decision_page_has_a_reason_box_and_says_what_its_button_does(
    admin_client, leader, action, button
):
    html = admin_client.get(f"/admin/users/{leader.user.id}/{action}").get_data(as_text=True)
    assert re.search(rf"<button[^>]*>\s*{button}\s*</button>", html), html[-2000:]
    assert re.search(r'for="reason"\s*>\s*Reason\s*</label>', html)  # a labelled box


def test_changing_a_role_is_audited_with_from_to_and_reason(admin_client, admin, leader, db):
    response = admin_client.post_form(f"/admin/users/{leader.user.id}/role",
                                      {"role": "coordinator", "reason": "Joins the team"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{leader.user.id}"
    db.refresh(leader.user)
    assert leader.user.role == "coordinator"
    [event] = events(db, "user.role_changed")
    assert event.actor_id == admin.id and event.object_type == "User"
    assert event.object_id == str(leader.user.id) and event.ip == "127.0.0.1"
    assert event.detail == {"from": "leader", "to": "coordinator", "reason": "Joins the team"}


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"role": "coordinator", "reason": ""}, "reason", "Enter the reason"),
    ({"role": "coordinator", "reason": "x" * 501}, "reason", "no more than 500"),
    ({"role": "superuser", "reason": "Because"}, "role", "Choose a role"),
    ({"role": "leader", "reason": "Because"}, "role", "is already a leader"),
])
def test_role_change_errors_are_shown_beside_the_field(admin_client, leader, db, form, field,
                                                       message):
    response = admin_client.post_form(f"/admin/users/{leader.user.id}/role", form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    if form["reason"] and len(form["reason"]) < 100:
        assert form["reason"] in html  # what was typed is kept
    db.refresh(leader.user)
    assert leader.user.role == "leader"


def test_an_admin_cannot_change_their_own_role_or_deactivate_themselves(admin_client, admin, db):
    for action, data in [("role", {"role": "leader", "reason": "Stepping down"}),
                         ("deactivate", {"reason": "Leaving"})]:
        response = admin_client.post_form(f"/admin/users/{admin.id}/{action}", data)
        assert response.status_code == 400
        assert "ask another admin" in response.get_data(as_text=True)
    db.refresh(admin)
    assert admin.role == "admin" and admin.is_active
    page = admin_client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert f"/admin/users/{admin.id}/role" not in page  # no link to a refused action


def test_the_last_active_admin_is_never_demoted_or_deactivated(db, factory):
    first = factory.user(email="first.admin@example.org", role="admin")
    second = factory.user(email="second.admin@example.org", role="admin")
    # The first admin's account was deactivated a moment ago (their page is still open).
    first.is_active = False
    db.add(first)
    db.flush()
    with pytest.raises(AdminError, match="only active admin"):
        services.change_role(db, first, second, "coordinator", "Tidying up")
    with pytest.raises(AdminError, match="only active admin"):
        services.deactivate(db, first, second, "Tidying up")
    db.refresh(second)
    assert second.role == "admin" and second.is_active
    # With another active admin it is allowed.
    third = factory.user(email="third.admin@example.org", role="admin")
    services.change_role(db, third, second, "coordinator", "Moves to coordination")
    assert second.role == "coordinator"


def test_deactivating_and_reactivating_an_account(app, admin_client, admin, leader, db):
    version = leader.user.session_version
    response = admin_client.post_form(f"/admin/users/{leader.user.id}/deactivate",
                                      {"reason": "Left the trust"})
    assert response.status_code == 302
    db.refresh(leader.user)
    assert not leader.user.is_active and leader.user.session_version == version + 1
    assert "is deactivated" in admin_client.get(response.headers["Location"]).get_data(
        as_text=True)
    # Deactivating twice is refused with a message, not an error page.
    again = admin_client.post_form(f"/admin/users/{leader.user.id}/deactivate",
                                   {"reason": "Again"})
    assert again.status_code == 400 and "already deactivated" in again.get_data(as_text=True)

    response = admin_client.post_form(f"/admin/users/{leader.user.id}/reactivate",
                                      {"reason": "Came back"})
    assert response.status_code == 302
    db.refresh(leader.user)
    assert leader.user.is_active
    assert SignedIn(app, leader.user).get("/home").status_code == 200
    assert [e.detail for e in events(db, "user.deactivated")] == [{"reason": "Left the trust"}]
    assert [e.detail for e in events(db, "user.reactivated")] == [{"reason": "Came back"}]


def test_ending_someones_sessions_is_audited(admin_client, admin, leader, db):
    version = leader.user.session_version
    admin_client.post_form(f"/admin/users/{leader.user.id}/sign-out", {"reason": "Lost phone"})
    db.refresh(leader.user)
    assert leader.user.session_version == version + 1
    [event] = events(db, "user.sessions_ended")
    assert event.actor_id == admin.id
    assert event.detail == {"reason": "Lost phone", "by": "admin"}


# --- inviting coordinators and admins ----------------------------------------------------------


def invitation_link(db, email) -> str:
    db.expire_all()
    [notification] = db.exec(select(Notification).where(Notification.recipient_email == email))
    match = re.search(r"http://localhost(/join/\S+)", notification.body_text)
    assert match
    return match.group(1)


def accept(client, path):
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})


def test_an_admin_invites_a_coordinator_who_gets_the_role_on_accepting(app, admin_client,
                                                                      admin, db):
    response = admin_client.post_form("/admin/invite", {"email": "New.Coord@Example.org",
                                                        "role": "coordinator"})
    assert response.status_code == 302
    page = admin_client.get("/admin/invite").get_data(as_text=True)
    assert "We have emailed an invitation to new.coord@example.org" in page
    assert "new.coord@example.org" in page.split("Invitations not yet accepted")[1]  # waiting list
    [sent] = events(db, "invitation.sent")
    assert sent.actor_id == admin.id
    assert sent.detail == {"email": "new.coord@example.org", "role": "coordinator"}

    client = app.test_client()
    response = accept(client, invitation_link(db, "new.coord@example.org"))
    # A coordinator sets up a second factor before anything else (issue 15), then goes home,
    # not to the leader's profile questions.
    assert response.headers["Location"] == "/account/second-factor/setup"
    response = set_up_authenticator_app(client, "new.coord@example.org")
    assert response.headers["Location"] == "/account/second-factor/recovery-codes"
    assert client.get("/home").status_code == 200
    user = db.exec(select(User).where(User.email == "new.coord@example.org")).one()
    assert user.role == "coordinator" and user.is_verified
    assert "new.coord@example.org" not in admin_client.get("/admin/invite").get_data(
        as_text=True).split("Invitations not yet accepted")[1]


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"email": "", "role": "coordinator"}, "email", "Enter their email address"),
    ({"email": "not-an-email", "role": "coordinator"}, "email", "correct format"),
    ({"email": "someone@example.org", "role": ""}, "role", "Choose coordinator or admin"),
    ({"email": "someone@example.org", "role": "leader"}, "role", "Choose coordinator or admin"),
    ({"email": "leader.a@example.org", "role": "admin"}, "email", "already has an account"),
])
def test_invitation_errors_are_shown_beside_the_field(admin_client, leader, db, form, field,
                                                      message):
    response = admin_client.post_form("/admin/invite", form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert not events(db, "invitation.sent")


def test_a_role_in_a_coordinators_round_invitation_grants_nothing(app, db, factory, coordinator):
    """Pre-filled answers also come from coordinators and imports: a role there is ignored."""
    programme_round = factory.programme_round()
    settings = app.extensions["mentoring.settings"]
    links = joining.Links(secret=settings.secret_key, base_url=settings.base_url)
    joining.invite(db, links, "sneaky@example.org", invited_by=coordinator,
                   programme_round=programme_round,
                   prefill={joining.INVITED_ROLE: "admin", "name": "Sneaky"})
    joining.invite(db, links, "sneaky2@example.org", invited_by=coordinator,
                   prefill={joining.INVITED_ROLE: "admin"})
    for email in ("sneaky@example.org", "sneaky2@example.org"):
        accept(app.test_client(), invitation_link(db, email))
        assert db.exec(select(User).where(User.email == email)).one().role == "leader"


def test_an_invitation_from_an_admin_who_has_since_lost_the_role_grants_nothing(
    app, db, factory, admin
):
    settings = app.extensions["mentoring.settings"]
    links = joining.Links(secret=settings.secret_key, base_url=settings.base_url)
    services.invite_staff(db, links, admin, "late@example.org", "admin")
    admin.role = "coordinator"
    db.add(admin)
    db.flush()
    accept(app.test_client(), invitation_link(db, "late@example.org"))
    assert db.exec(select(User).where(User.email == "late@example.org")).one().role == "leader"


def test_an_invited_admin_reaches_the_admin_pages_and_can_sign_in_again(app, admin_client, db):
    admin_client.post_form("/admin/invite", {"email": "c2@example.org", "role": "admin"})
    client = app.test_client()
    response = accept(client, invitation_link(db, "c2@example.org"))
    assert client.get("/admin/users").status_code == 302  # not before a second factor
    answer_second_factor(client, response, "c2@example.org")
    assert client.get("/admin/users").status_code == 200
    token = csrf_token(client.get("/home").get_data(as_text=True))
    client.post("/sign-out", data={"csrf_token": token})
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", data={"csrf_token": token, "email": "c2@example.org",
                                             "password": NEW_PASSWORD})
    assert response.headers["Location"] == "/sign-in/second-factor"
    assert answer_second_factor(client, response, "c2@example.org").status_code == 302
    assert client.get("/admin/audit").status_code == 200


def test_two_admins_demoting_each_other_at_once_leave_one_admin(engine):
    """On PostgreSQL the second demotion waits for the first, then sees it and is refused."""
    import threading
    import time

    from sqlmodel import Session

    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite serialises writers on the whole file)")
    with Session(engine) as setup:
        first = User(email="race.first@example.org", role="admin", password_hash="x")
        second = User(email="race.second@example.org", role="admin", password_hash="x")
        others = setup.exec(select(User).where(User.role == "admin", User.is_active)).all()
        for other in others:  # only these two are active admins during the test
            other.is_active = False
            setup.add(other)
        setup.add_all([first, second])
        setup.commit()
        ids, parked = (first.id, second.id), [o.id for o in others]
    outcome: dict[str, object] = {}

    def second_demotes_first():
        with Session(engine) as session:
            me, them = session.get(User, ids[1]), session.get(User, ids[0])
            try:
                services.change_role(session, me, them, "coordinator", "Race")
                session.commit()
                outcome["second"] = "demoted the first"
            except AdminError as error:
                outcome["second"] = str(error)
    try:
        with Session(engine) as session:
            me, them = session.get(User, ids[0]), session.get(User, ids[1])
            services.change_role(session, me, them, "coordinator", "Race")  # flushed, locked
            racer = threading.Thread(target=second_demotes_first)
            racer.start()
            time.sleep(0.5)  # the second admin's request is now waiting on the row lock
            assert racer.is_alive()
            session.commit()
        racer.join(timeout=10)
        assert "only active admin" in str(outcome["second"])
        with Session(engine) as check:
            roles = {u.email: u.role for u in check.exec(select(User).where(User.id.in_(ids)))}
        assert roles == {"race.first@example.org": "admin",
                         "race.second@example.org": "coordinator"}
    finally:
        with Session(engine) as cleanup:
            for event in cleanup.exec(select(AuditEvent).where(AuditEvent.actor_id.in_(ids))):
                cleanup.delete(event)
            for user_id in ids:
                cleanup.delete(cleanup.get(User, user_id))
            for user_id in parked:
                user = cleanup.get(User, user_id)
                user.is_active = True
                cleanup.add(user)
            cleanup.commit()
