"""The host's checklist: ticked by the host on the exchange page, or by a coordinator on the
round's page for the exchange. Thin views over `mentoring.visits.checks`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring.access import roles_required
from mentoring.db import get_session
from mentoring.exchanges.services import NotFound, profile_of
from mentoring.forms import CsrfForm
from mentoring.models import LeaderProfile, utcnow
from mentoring.view_helpers import client_ip
from mentoring.visits import checks
from mentoring.vocab import Role

bp = Blueprint("visits", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)
EXPIRED = {"": "Your form expired. Try again."}


def _confirmed() -> list[str]:
    return request.form.getlist("confirmed")


def _saved(done: list[str], reopened: list[str]) -> str:
    if not done and not reopened:
        return "Nothing changed on the checklist."
    parts = []
    if done:
        parts.append(f"{len(done)} {'item' if len(done) == 1 else 'items'} confirmed")
    if reopened:
        parts.append(f"{len(reopened)} open again")
    return "Checklist saved: " + " and ".join(parts) + "."


@bp.app_template_global()
def host_checklist(exchange) -> checks.Checklist | None:
    """The exchange page's "Before the visit" section reads the checklist through this, so the
    page's own view need not know about it."""
    return checks.checklist(get_session(), exchange, utcnow())


# --- the host, on the exchange page ---------------------------------------------------------


@bp.route("/exchanges/<int:exchange_id>/checks", methods=["POST"])
@roles_required(Role.LEADER)
def confirm_checks(exchange_id: int):
    db = get_session()
    me = profile_of(db, current_user)
    if me is None:
        abort(404)
    form = CsrfForm()
    back = url_for("exchanges.exchange", exchange_id=exchange_id) + "#before-the-visit"
    if not form.validate_on_submit():
        flash("Your form expired. Try again.", "info")
        return redirect(back)
    now = utcnow()
    try:
        done, reopened = checks.host_confirms(db, me, current_user, exchange_id, _confirmed(),
                                              now, ip=client_ip())
    except NotFound:
        abort(404)
    except checks.NotAllowed:
        abort(403)
    except checks.ChecklistError as error:
        db.rollback()
        checklist = checks.leader_checklist(db, me, exchange_id, now)
        return render_template(
            "visits/checklist.html", checklist=checklist, errors=error.errors,
            action=url_for("visits.confirm_checks", exchange_id=exchange_id), viewer="host",
            back=back, chosen=_confirmed()), 400
    db.commit()
    flash(_saved(done, reopened), "success")
    return redirect(back)


# --- a coordinator, for any exchange of their round -----------------------------------------


@bp.route("/rounds/<int:round_id>/exchanges/<int:exchange_id>/checks", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def round_checks(round_id: int, exchange_id: int):
    db = get_session()
    try:
        exchange = checks.round_exchange(db, round_id, exchange_id)
    except LookupError:
        abort(404)
    form = CsrfForm()
    errors: dict[str, str] = {}
    now = utcnow()
    chosen = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            done, reopened = checks.confirm(db, exchange, current_user, _confirmed(), now,
                                            ip=client_ip())
        except checks.ChecklistError as error:
            db.rollback()
            errors, chosen = error.errors, _confirmed()
        else:
            db.commit()
            flash(_saved(done, reopened), "success")
            return redirect(url_for("visits.round_checks", round_id=round_id,
                                    exchange_id=exchange_id))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    host = db.get(LeaderProfile, exchange.host_id)
    return render_template(
        "visits/checklist.html", checklist=checks.checklist(db, exchange, now), errors=errors,
        action=url_for("visits.round_checks", round_id=round_id, exchange_id=exchange_id),
        viewer="coordinator", round_id=round_id, chosen=chosen,
        organisation_id=host.organisation_id if host else None,
        back=url_for("insights.dashboard", round_id=round_id) + "#at-risk",
    ), (400 if errors else 200)
