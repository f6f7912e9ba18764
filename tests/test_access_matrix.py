"""The access-control matrix, generated from the app's URL map: every route and method, for
every role (anonymous, leader A, leader B, coordinator, admin), against what `tests/pages.py`
declares. A route without a declaration fails. Leader B is a stranger to leader A: putting
leader A's ids in a URL or form never reads or changes leader A's data.

Every request runs inside a savepoint that is rolled back afterwards, so actions that are
allowed (and change things) leave the world as it was for the next request. Requests that are
refused must not change anything at all: the whole database is compared before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from test_crawl import background_jobs, leader_a_matched

from conftest import SignedIn, csrf_token
from matching_world import stored_run
from pages import ACTIONS, ANYONE, LEADER_A_OWNS, PAGES, Page

MATRIX_ROLES = ("anonymous", "leader A", "leader B", "coordinator", "admin")
# Rows that a refused request may still write: a sign-in attempt is recorded either way, and
# the visitor's own session on the server (the "sign in to see this page" message it keeps).
IGNORED_TABLES = {"sign_in_attempt", "user_session"}


@pytest.fixture
def settings(settings_with_sign_in_provider):
    """With "Sign in with NHSmail" configured, so its pages are visited too."""
    return settings_with_sign_in_provider


@dataclass
class World:
    leader_a: object
    leader_b: object  # a stranger to leader A
    programme_round: object
    match: object = None
    exchange: object = None
    past_exchange: object = None
    hosted_exchange: object = None
    calendar_token: str = ""
    run: object = None
    notification: object = None
    reflection: object = None
    invitation: object = None  # to the round, not accepted
    staff_invitation: object = None  # an admin's, to a coordinator
    import_job: object = None
    approval_job: object = None


@pytest.fixture
def world(factory, leader) -> World:
    from mentoring.notifications.outbox import enqueue

    programme_round = factory.programme_round(name="Matrix round")
    mentor = factory.mentor(email="mentor.of.a@example.org", name="Mo Mentor")
    stranger = factory.leader(email="leader.b@example.org", name="Bea Stranger")
    for person in (leader, mentor):
        factory.participant(programme_round, person)
    matched = leader_a_matched(factory, leader, mentor, programme_round)
    matched.pop("run")
    enqueue(factory.session, key="matrix:failed", kind="test", recipient_email="x@example.org",
            subject="A failed email", template="offer_extended", round_id=programme_round.id,
            context={"name": "X", "other_name": "Y", "respond_by": "1 March 2027",
                         "match_url": "http://127.0.0.1:5000/matches/1"},
            due_at=datetime(2024, 1, 1, tzinfo=UTC))
    from sqlmodel import select

    from mentoring.models import Notification

    notification = factory.session.exec(
        select(Notification).where(Notification.idempotency_key == "matrix:failed")).one()
    notification.status = "failed"
    factory.session.add(notification)
    factory.session.flush()
    from mentoring.auth import joining

    links = joining.Links(secret="not-used-here", base_url="http://127.0.0.1:5000")
    coordinator = factory.user(email="matrix.coordinator@example.org", role="coordinator")
    invitation = joining.invite(factory.session, links, "invited@example.org",
                                invited_by=coordinator, programme_round=programme_round)
    staff_invitation = joining.invite(factory.session, links, "staff@example.org",
                                      invited_by=coordinator, prefill={"account_role": "admin"})
    run = stored_run(factory.session, programme_round, mentor, leader)
    return World(leader_a=leader, leader_b=stranger, programme_round=programme_round,
                 run=run, notification=notification, invitation=invitation,
                 staff_invitation=staff_invitation, **matched,
                 **background_jobs(factory, programme_round, run))


def url_of(app, page: Page, world: World) -> str:
    if callable(page.url):
        return page.url(world)
    if page.url:
        return page.url
    with app.test_request_context():
        from flask import url_for

        return url_for(page.endpoint)


def declared_routes() -> set[tuple[str, str]]:
    return {(page.endpoint, page.method) for page in [*PAGES, *ACTIONS]}


def test_every_route_and_method_is_declared(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    undeclared = sorted(routes - declared_routes())
    assert not undeclared, f"declare who may use these in tests/pages.py: {undeclared}"
    assert not declared_routes() - routes, "tests/pages.py declares routes the app no longer has"


def snapshot(connection) -> dict[str, list]:
    """Every row of every table (the matrix world is small)."""
    return {
        table.name: sorted(map(repr, connection.execute(sa.select(table)).all()))
        for table in SQLModel.metadata.sorted_tables if table.name not in IGNORED_TABLES
    }


class Visitor:
    """One role's client, signed in again whenever an allowed action signed it out."""

    def __init__(self, app, role: str, world: World, users: dict) -> None:
        self.app, self.role, self.user = app, role, users.get(role)
        self.sign_in()

    def sign_in(self) -> None:
        if self.user is None:
            self.client = self.app.test_client()
            self.token = csrf_token(self.client.get("/sign-in").get_data(as_text=True))
        else:
            self.client = SignedIn(self.app, self.user).client
            self.token = csrf_token(self.client.get("/home").get_data(as_text=True))

    def recover(self) -> None:
        """After an allowed sign-out (or anything that cleared the session) start again."""
        with self.client.session_transaction() as session:
            signed_out = self.user is not None and "_user_id" not in session
            lost_token = "csrf_token" not in session
        if signed_out or lost_token:
            self.sign_in()

    def request(self, page: Page, url: str):
        if page.method == "GET":
            return self.client.get(url)
        return self.client.post(url, data={"csrf_token": self.token})


def expectation(page: Page, role: str) -> str:
    """'allowed', 'sign-in', 'forbidden' or 'not-found' for this role."""
    matrix_role = "leader" if role.startswith("leader") else role
    if role == "anonymous":
        return "allowed" if page.access == ANYONE else "sign-in"
    if not page.allows(matrix_role):
        return "forbidden"
    if role == "leader B" and page.endpoint in LEADER_A_OWNS:
        return "not-found"
    return "allowed"


def outcome(response) -> str:
    location = response.headers.get("Location", "")
    if response.status_code in (301, 302, 303) and "/sign-in" in location and (
            "/sign-in/confirm" not in location):
        return "sign-in"
    if response.status_code in (401, 403):
        return "forbidden"
    if response.status_code == 404:
        return "not-found"
    if response.status_code >= 500:
        return f"error {response.status_code}"
    return "allowed"


@pytest.mark.parametrize("role", MATRIX_ROLES)
def test_the_access_matrix(app, connection, factory, world, coordinator, admin, role):
    users = {"leader A": world.leader_a.user, "leader B": world.leader_b.user,
             "coordinator": coordinator, "admin": admin}
    visitor = Visitor(app, role, world, users)
    wrong: list[str] = []
    for page in sorted([*PAGES, *ACTIONS], key=lambda p: (p.endpoint, p.method)):
        if page.endpoint == "static":
            continue
        expected = expectation(page, role)
        url = url_of(app, page, world)
        before = snapshot(connection) if expected != "allowed" else None
        savepoint = connection.begin_nested()
        try:
            response = visitor.request(page, url)
            response.close()  # file downloads hold their file open until closed
            got = outcome(response)
            if got == "sign-in" and expected == "allowed" and page.endpoint in SIGN_OUTS:
                got = "allowed"
            if before is not None and snapshot(connection) != before:
                wrong.append(f"{page.method} {url}: refused but changed the database")
        finally:
            savepoint.rollback()
        acceptable = {expected, "forbidden"} if expected == "not-found" else {expected}
        if got not in acceptable:
            wrong.append(f"{page.method} {url} ({page.endpoint}): expected {expected}, got "
                         f"{got} ({response.status_code})")
        visitor.recover()
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


# Allowed actions whose success is the sign-in page.
# (Ending session 1 is signing out when session 1 is the visitor's own.)
SIGN_OUTS = {"auth.sign_out", "auth.sign_out_everywhere", "auth.end_one_session"}


def test_leader_b_cannot_act_on_leader_a_through_form_fields(app, connection, world):
    """Ids in form fields are checked too: leader B's own feedback form pointing at leader A's
    exchange, and an availability save for a round leader B is not in, change nothing."""
    visitor = Visitor(app, "leader B", world, {"leader B": world.leader_b.user})
    before = snapshot(connection)
    savepoint = connection.begin_nested()
    try:
        for url, data in [
            (f"/exchanges/{world.past_exchange.id}/feedback", {"rating": "5", "learned": "x"}),
            (f"/matches/{world.match.id}/decline", {"reason": "not mine"}),
            (f"/matches/{world.match.id}/accept", {}),
            (f"/exchanges/{world.exchange.id}/cancel", {"reason": "not mine"}),
            (f"/my-data/rounds/{world.programme_round.id}/withdraw", {"reason": "x"}),
        ]:
            response = visitor.client.post(url, data={"csrf_token": visitor.token, **data})
            assert response.status_code in (403, 404), url
        assert snapshot(connection) == before
    finally:
        savepoint.rollback()
