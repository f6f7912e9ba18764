"""Error pages keep the service's layout and say what to do next."""

from __future__ import annotations

from conftest import SignedIn


def test_server_errors_show_the_service_500_page(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("broken on purpose")

    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page
    assert "broken on purpose" not in page  # no internals leak
    assert "Skip to main content" in page and "Accessibility statement" in page


def test_forbidden_pages_explain_why(app, leader):
    from mentoring.access import roles_required

    @app.route("/coordinators-only")
    @roles_required("coordinator")
    def coordinators_only():
        return "secret"

    response = SignedIn(app, leader.user).get("/coordinators-only")
    assert response.status_code == 403
    assert "You do not have permission to see this page" in response.get_data(as_text=True)


def test_a_wrong_method_gets_405_in_the_layout(client):
    response = client.post("/accessibility")
    assert response.status_code in {400, 405}  # CSRF is checked before routing's 405
    assert "NHS" in response.get_data(as_text=True)


def test_the_expired_form_page_carries_its_csp_nonce(client):
    """CSRF is checked before any view: the page it shows still gets a nonce for its scripts."""
    import re

    response = client.post("/sign-in", data={"email": "a@example.org"})
    assert response.status_code == 400
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert nonce and f'nonce="{nonce}"' in response.get_data(as_text=True)


# A statement the database itself refuses with an OperationalError, on each backend: SQLite
# knows no such table; PostgreSQL cancels the statement (as a lock or statement timeout would).
REFUSED_SQL = {
    "sqlite": "SELECT * FROM no_such_table",
    "postgresql": "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(1)",
}


def test_a_database_failure_after_a_write_still_gets_the_500_page(app, db, coordinator):
    """A coordinator's "Remove" failed in the database while the worker was committing; the
    500 page then crashed drawing the header, which read the signed-in user through the
    session the failure had left rolled back. The page must not need the database."""
    import sqlalchemy as sa
    from sqlmodel import select

    from mentoring.db import get_session
    from mentoring.models import Organisation

    app.config["PROPAGATE_EXCEPTIONS"] = False

    def refuse(session, _flush_context):
        session.connection().exec_driver_sql(REFUSED_SQL[session.connection().dialect.name])

    @app.post("/test/write-then-fail")
    def write_then_fail():
        session = get_session()
        session.add(Organisation(name="Half done", sector="primary_care", borough="lewisham"))
        session.flush()
        session.add(Organisation(name="Never stored", sector="primary_care", borough="lewisham"))
        # The next flush fails inside the database, as the review page's did: the ORM rolls
        # the session back and everything it holds (the signed-in user too) is expired.
        sa.event.listen(session, "after_flush", refuse, once=True)
        session.commit()
        return "not reached"

    coordinator_client = SignedIn(app, coordinator)
    response = coordinator_client.post_form("/test/write-then-fail", form_page="/home")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page
    assert "Skip to main content" in page and "Accessibility statement" in page
    assert "no_such_table" not in page and "canceling" not in page  # no internals leak
    db.expire_all()
    assert not {"Half done", "Never stored"} & set(db.exec(select(Organisation.name)).all())
    # The failure did not sign the coordinator out.
    home = coordinator_client.get("/home")
    assert home.status_code == 200 and "coordinator@example.org" in home.get_data(as_text=True)
