"""The line manager's page (public: the signed link is the key) and what leaders and coordinators
see of the answers: thin views over `mentoring.releases.services`."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring.db import get_session
from mentoring.forms import CsrfForm
from mentoring.models import utcnow
from mentoring.releases import services
from mentoring.releases.services import InvalidLink, LinkState, NotYours, ReleaseError
from mentoring.view_helpers import client_ip
from mentoring.vocab import RELEASE_STATUS_LABELS

bp = Blueprint("release", __name__)
bp.add_app_template_global(RELEASE_STATUS_LABELS, "RELEASE_STATUS_LABELS")


def _private(body, status: int = 200):
    """The token in the address is the key: never cached, never sent on as a referrer, never
    indexed."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _viewer_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.route("/release/<token>", methods=["GET", "POST"])
def decide(token: str):
    """A line manager releases the time, or declines with a reason. No account: a GET only
    shows (mail scanners that open links decide nothing); the POST needs the page's CSRF
    token."""
    db = get_session()
    now = utcnow()
    try:
        link = services.open_link(db, token, now)
    except InvalidLink:
        return _private(render_template("release/invalid.html"), 400)
    if link.is_leader(_viewer_id()):
        return _private(render_template("release/not_yours.html", link=link), 403)
    form = CsrfForm()
    errors: dict[str, str] = {}
    decision = request.form.get("decision", "")
    reason = request.form.get("reason", "")
    if request.method == "POST" and link.state == LinkState.OPEN:
        if not form.validate_on_submit():
            errors = {"": "Your form expired. Try again."}
        else:
            try:
                services.decide(db, link, decision, reason, now, viewer_user_id=_viewer_id(),
                                ip=client_ip())
            except NotYours:  # signed in as the leader since the page was shown
                return _private(render_template("release/not_yours.html", link=link), 403)
            except ReleaseError as error:
                errors = error.errors
            else:
                db.commit()
                return redirect(url_for("release.decide", token=token))
    status = 400 if errors or link.state == LinkState.EXPIRED else 200
    return _private(render_template(
        "release/decide.html", link=link, form=form, errors=errors, decision=decision,
        reason=reason, states=LinkState, expires_on=link.release.expires_at,
    ), status)


@bp.app_template_global("time_release_for")
def time_release_for(view):
    """The leader's line-manager release on their match page (a `MatchView`), or None."""
    return services.for_leader(get_session(), view.match, view.me)


@bp.app_template_global("round_time_releases")
def round_time_releases(round_id: int):
    """The round's releases for the coordinators' changes page."""
    return services.round_releases(get_session(), round_id, utcnow())
