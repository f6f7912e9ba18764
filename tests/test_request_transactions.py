"""How a request's transaction ends (mentoring/db.py): a request that only read commits (so
psycopg keeps its prepared statements); anything that wrote without committing, or failed, is
rolled back, so nothing half-done is ever stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mentoring.db import get_session
from mentoring.models import Organisation


@pytest.fixture
def ended(app):
    """Routes that read or write without committing; lists the commits of their sessions."""
    endings: list[str] = []

    @app.route("/test/read")
    def read():
        get_session().exec(select(Organisation)).all()
        return "read"

    @app.route("/test/write-uncommitted")
    def write_uncommitted():
        db = get_session()
        db.add(Organisation(name="Half done", sector="primary_care", borough="lewisham"))
        db.flush()
        return "wrote, did not commit"

    @app.route("/test/core-write-uncommitted")
    def core_write_uncommitted():
        get_session().execute(sa.insert(Organisation).values(
            name="Core half done", sector="primary_care", borough="lewisham", size="small"))
        return "wrote, did not commit"

    @app.route("/test/read-then-fail")
    def read_then_fail():
        get_session().exec(select(Organisation)).all()
        raise RuntimeError("the view failed")

    make_session = app.extensions["mentoring.session_factory"]

    def watched_session():
        session = make_session()
        sa.event.listen(session, "after_commit", lambda _session: endings.append("commit"))
        return session

    app.extensions["mentoring.session_factory"] = watched_session
    return endings


def names(db) -> set[str]:
    db.expire_all()
    return set(db.exec(select(Organisation.name)).all())


def test_a_request_that_only_read_commits(client, ended):
    assert client.get("/test/read").status_code == 200
    assert ended == ["commit"]


@pytest.mark.parametrize("path", ["/test/write-uncommitted", "/test/core-write-uncommitted"])
def test_a_write_the_view_did_not_commit_is_rolled_back(client, db, ended, path):
    assert client.get(path).status_code == 200
    assert ended == []
    assert not {"Half done", "Core half done"} & names(db)


def test_a_failed_request_is_rolled_back(app, ended):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get("/test/read-then-fail").status_code == 500
    assert ended == []
