"""Sessions held on the server (mentoring.auth.session_store), and their timeouts.

Flask's own session is a signed cookie: readable by anyone who holds it, and good until it
expires whatever happens on the server, so a cookie copied before sign-out still worked. Here
the cookie carries only a random id; the contents live in the `user_session` row, and ending a
session deletes the row.

Why not Flask-Session's SQLAlchemy backend: it keeps the session id itself (not a hash) in the
table, knows nothing of users (so no "your sessions" page, and "sign out everywhere" could not
find a user's sessions without decoding every row), creates its table outside Alembic, and
brings Flask-SQLAlchemy, which this app does not use. The table and this interface are about
150 lines.

The session row is read with the user in one query (Flask-Login's loader takes the user from
here), so a signed-in page costs no more queries than before; the idle clock is written at most
once a minute, and the contents only when they change.
"""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Flask, Request, Response, current_app, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SessionInterface, session_json_serializer
from flask_login import current_user

from mentoring import logs
from mentoring.auth import session_store as store
from mentoring.db import CONNECTION, WROTE, get_session
from mentoring.models import utcnow

# Requests that never need a session: no database look-up, no cookie written.
SESSIONLESS_PATHS = ("/static/", "/assets/", "/healthz", "/readyz")
UNCHECKED_ENDPOINTS = {"static", "main.nhsuk_assets", "main.healthz", "main.readyz"}


class ServerSession(SecureCookieSession):
    """Flask's session dict (it tracks changes), plus which row it came from."""

    def __init__(self, initial=None, *, row_id: int | None = None,
                 row_user_id: int | None = None, user=None, ended: str | None = None,
                 sessionless: bool = False, failure: Exception | None = None) -> None:
        super().__init__(initial)
        self.row_id = row_id
        self.row_user_id = row_user_id
        self.user = user  # read with the row; see load_user
        self.ended = ended  # why the session the cookie named has just ended (store.IDLE, ...)
        self.sessionless = sessionless
        self.renew = False  # set by renew(): a new id at the end of this request
        self.failure = failure  # why the session could not be read; see open_session


def renew() -> None:
    """Give this browser a new session id at the end of the request (sign-in: no fixation; a
    password change, which ended every session, this one included)."""
    session.renew = True  # type: ignore[attr-defined]


def signed_in_user_id(data) -> int | None:
    """The user id in Flask-Login's `_user_id` ("<id>:<session version>")."""
    user_id = str(data.get("_user_id") or "").partition(":")[0]
    return int(user_id) if user_id.isdigit() else None


def limits(app: Flask) -> store.Limits:
    settings = app.extensions["mentoring.settings"]
    return store.Limits.of(settings.session_idle_minutes, settings.session_max_hours)


def _start_alone(db) -> None:
    """The session's writes are committed alone, in a transaction of their own: a view that
    wrote and did not commit is rolled back at teardown anyway (mentoring.db), so it is rolled
    back first here; one that only read is ended here rather than at teardown. On SQLite a
    transaction that has read cannot wait for the write lock ("database is locked" at once
    while the worker commits), one whose first statement writes waits for it (busy_timeout)."""
    connection = db.info.get(CONNECTION)
    if db.in_transaction() and connection is not None:
        if connection.info.get(WROTE):
            db.rollback()
        else:
            db.commit()


class ServerSessionInterface(SessionInterface):
    serializer = session_json_serializer

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.path.startswith(SESSIONLESS_PATHS):
            return ServerSession(sessionless=True)
        try:
            return self._open(app, request)
        except sa.exc.SQLAlchemyError as exc:
            # Flask opens the session before the request's hooks and error handlers run; had
            # this raised, the error page would have had no session at all (and crashed on
            # its flash messages). The request goes on with an empty session that is never
            # saved, and `raise_session_failure` raises the failure there instead.
            return ServerSession(sessionless=True, failure=exc)

    def _open(self, app: Flask, request: Request) -> ServerSession:
        raw_id = request.cookies.get(self.get_cookie_name(app))
        if not raw_id:
            return ServerSession()
        db = get_session()
        found = store.find(db, raw_id)
        if found is None:  # signed out, ended, pruned, or never ours
            return ServerSession()
        row, user = found
        now = utcnow()
        reason = store.ended_reason(row, now, limits(app))
        if reason is not None:
            _start_alone(db)
            store.delete(db, row.id)
            db.commit()
            return ServerSession(ended=reason if row.user_id is not None else None)
        ip = request.remote_addr or ""
        if row.user_id is not None and store.touch_due(row, now, ip):
            _start_alone(db)
            store.touch(db, row, now, ip)
            db.commit()
        data = self.serializer.loads(row.data)
        return ServerSession(data, row_id=row.id, row_user_id=row.user_id, user=user)

    def save_session(self, app: Flask, session: ServerSession,  # type: ignore[override]
                     response: Response) -> None:
        if getattr(session, "sessionless", True):
            return
        if session.accessed:
            response.vary.add("Cookie")
        user_id = signed_in_user_id(session)
        # A session id belongs to one user: signing in or out starts a new one (and the old id
        # ends with its row), as does renew().
        rotate = session.renew or user_id != session.row_user_id
        db = None
        if session.row_id is not None and (rotate or not session):
            db = get_session()
            _start_alone(db)
            store.delete(db, session.row_id)
            session.row_id = None
        if not session:
            if db is not None:
                db.commit()
            if request.cookies.get(self.get_cookie_name(app)):
                response.delete_cookie(
                    self.get_cookie_name(app), domain=self.get_cookie_domain(app),
                    path=self.get_cookie_path(app), secure=self.get_cookie_secure(app),
                    samesite=self.get_cookie_samesite(app),
                    httponly=self.get_cookie_httponly(app))
            return
        if session.row_id is not None and not session.modified:
            return
        if db is None:
            db = get_session()
            _start_alone(db)
        data = self.serializer.dumps(dict(session))
        if session.row_id is not None:
            store.save_data(db, session.row_id, data)
            db.commit()
            return
        raw_id = store.create(db, user_id=user_id, data=data, now=utcnow(),
                              user_agent=request.user_agent.string,
                              ip=request.remote_addr or "")
        db.commit()
        response.set_cookie(
            self.get_cookie_name(app), raw_id, expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app), domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app), secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app))
        response.vary.add("Cookie")


def raise_session_failure() -> None:
    """A `before_request` hook, before CSRF's (which reads the session): the database failure
    that kept the session from being read (the database busy or unreachable) fails the request
    here, where the error pages can answer it."""
    failure = getattr(session, "failure", None)
    if failure is not None:
        raise failure


def load_user(user_id: str):
    """Flask-Login's user loader: the user read with the session row (no second query), while
    their account is active and the session version in the session is current."""
    user = getattr(session, "user", None)
    if user is None or not user.is_active or user.get_id() != user_id:
        return None
    return user


def idle_message(minutes: int) -> str:
    return f"You were signed out after {minutes} minutes without activity. Sign in again."


def expired_message(hours: int) -> str:
    return (f"You were signed out because you signed in more than {hours} hours ago. "
            "Sign in again.")


def enforce_timeouts():
    """A `before_request` hook: a session that the server has just ended for being idle or
    open too long sends the user to sign in again, saying why."""
    if request.endpoint in UNCHECKED_ENDPOINTS:
        logs.set_user(None)
        return None
    reason = getattr(session, "ended", None)
    if reason is None:
        logs.set_user(current_user.id if current_user.is_authenticated else None)
        return None
    session.ended = None  # type: ignore[attr-defined]
    settings = current_app.extensions["mentoring.settings"]
    flash(idle_message(settings.session_idle_minutes) if reason == store.IDLE
          else expired_message(settings.session_max_hours), "info")
    logs.set_user(None)
    target = url_for("auth.sign_in")
    if request.method == "GET":
        target += "?" + urlencode({"next": request.full_path.rstrip("?")})
    return redirect(target)
