"""The page layout's shared parts: the NHS.UK header, skip link and footer.

Rendering the NHS.UK header and footer macros cost about 4 ms of every page (more than most
pages' own queries), yet they vary only with who is signed in and which page is current. Each
part is rendered once per (app, script root, user's email and role, current page) and then
reused; the CSRF token in the header's sign-out form is the only per-session value, so the
cached header holds a placeholder that is replaced on every request.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from mentoring.configuration.programme import FALLBACK_SERVICE_NAME
from mentoring.vocab import Role

SERVICE_NAME = FALLBACK_SERVICE_NAME  # until the database's programme text says otherwise
# Navigation per role: (endpoint, label).
NAVIGATION: dict[str, tuple[tuple[str, str], ...]] = {
    Role.LEADER: (("main.home", "Home"), ("profile.overview", "Your profile"),
                  ("availability.index", "When you are free"),
                  ("exchanges.my_matches", "Matches and exchanges"), ("mydata.index", "Your data")),
    Role.COORDINATOR: (("main.home", "Home"), ("rounds.index", "Rounds"),
                       ("admin.organisations", "Organisations")),
    Role.ADMIN: (("main.home", "Home"), ("rounds.index", "Rounds"),
                 ("admin.organisations", "Organisations"), ("admin.users", "Users"),
                 ("configuration.index", "Configuration"), ("admin.audit_log", "Audit log")),
}
# Plain characters that autoescaping leaves alone and no real page contains.
CSRF_PLACEHOLDER = "csrf-token-to-be-filled-in-4f1c9a"
# Enough for every user active on one worker at once; each entry is about 5 KB.
CACHED_PARTS = 2048


def init_app(app: Flask) -> None:
    @lru_cache(maxsize=CACHED_PARTS)
    def render_part(template: str, script_root: str, **context: Any) -> Markup:
        # `script_root` is part of the key because the links in a part depend on it. The
        # template autoescapes what it is given, so its output is markup.
        return Markup(app.jinja_env.get_template(template).render(**context))  # noqa: S704

    app.extensions["mentoring.layout_parts"] = render_part
    app.context_processor(_layout_context)
    app.add_template_global(page_header)
    app.add_template_global(page_footer)
    app.add_template_global(programme_text)


def _render_part(template: str, **context: Any) -> Markup:
    return current_app.extensions["mentoring.layout_parts"](
        template, request.script_root, **context)


def without_the_database() -> None:
    """Draw the rest of this request's pages without a statement: a page about a failed
    transaction (a query now could fail again, or wait as long again for a lock). The header
    then names no user and offers no navigation (who is signed in is known from the database);
    the programme's text is what this process last read."""
    from mentoring.configuration.views import CACHE

    g.layout_without_database = True
    if "programme_text" not in g:
        held = current_app.extensions[CACHE].last_read()
        g.programme_text = held.texts if held is not None else {}


def programme_text() -> dict[str, str]:
    """The programme's text for this request (one query, on first use). A page about a failure
    (the database unreachable, a transaction that failed) still renders, with the defaults."""
    if "programme_text" not in g:
        import sqlalchemy as sa

        from mentoring.configuration.views import CACHE
        from mentoring.db import get_session

        try:
            g.programme_text = current_app.extensions[CACHE].get(get_session()).texts
        except sa.exc.SQLAlchemyError:
            g.programme_text = {}
    return g.programme_text


def service_name() -> str:
    return programme_text().get("service_name") or SERVICE_NAME


def area_name() -> str:
    """The area the system covers, as running text says it ("anywhere in south east London")."""
    return programme_text().get("area") or "the area"


def _layout_context() -> dict[str, Any]:
    return {"service_name": service_name(), "area_name": area_name,
            "csp_nonce": g.get("csp_nonce", "")}


def page_header() -> Markup:
    if g.get("layout_without_database"):
        return _render_part("partials/header.html", email="", navigation=(),
                            current_endpoint=None, service_name=service_name(), plain=True)
    if not current_user.is_authenticated:
        return _render_part("partials/header.html", email="", navigation=(),
                            current_endpoint=None, service_name=service_name())
    html = _render_part(
        "partials/header.html", email=current_user.email,
        navigation=NAVIGATION.get(current_user.role, ()), current_endpoint=request.endpoint,
        service_name=service_name(), csrf_value=CSRF_PLACEHOLDER,
    )
    return html.replace(CSRF_PLACEHOLDER, generate_csrf())  # Markup.replace escapes the token


def page_footer() -> Markup:
    # The footer's organisation is part of the cache key: a change shows on the next page.
    return _render_part("partials/footer.html",
                        footer_organisation=programme_text().get("footer_organisation", ""))
