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
