"""A pair's agreement, check-ins and concerns (leaders), and how pairs are getting on
(coordinators): thin views over `mentoring.outcomes`. CSRF is checked before any view runs
(mentoring.web), so a POST that arrives here has a valid token."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring.access import roles_required
from mentoring.db import get_session
from mentoring.exchanges.services import LeaderError, NotFound, profile_of
from mentoring.forms import CsrfForm
from mentoring.models import utcnow
from mentoring.models.outcomes import AGREEMENT_LIMITS
from mentoring.outcomes import agreements, check_ins, progress
from mentoring.view_helpers import round_or_404
from mentoring.vocab import Role

bp = Blueprint("outcomes", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)


def _me():
    profile = profile_of(get_session(), current_user)
    if profile is None:
        abort(404)
    return profile


# --- the pair's agreement --------------------------------------------------------------------


def _agreement_page(view, *, values=None, version=None, errors=None, editing=False):
    agreement = view.agreement
    if values is None:
        values = ({name: getattr(agreement, name) for name in agreements.TEXT_FIELDS}
                  | {"share_with_coordinators": agreement.share_with_coordinators}
                  if agreement else agreements.parse({}))
    return render_template(
        "outcomes/agreement.html", view=view, values=values, errors=errors or {},
        version=(str(agreement.version) if agreement else "") if version is None else version,
        editing=editing or (agreement is None and view.can_edit), limits=AGREEMENT_LIMITS,
        form=CsrfForm(),
    ), 400 if errors else 200


@bp.route("/matches/<int:match_id>/agreement", methods=["GET", "POST"])
@roles_required(Role.LEADER)
def agreement(match_id: int):
    db = get_session()
    me = _me()
    try:
        view = agreements.get_agreement(db, me, match_id)
    except NotFound:
        abort(404)
    if request.method == "GET":
        return _agreement_page(view, editing=request.args.get("edit") == "1")
    values = agreements.parse(request.form)
    version = request.form.get("version", "")
    confirm = request.form.get("action") == "confirm"
    try:
        saved = agreements.save(db, me, current_user, match_id, values, version, utcnow(),
                                confirm=confirm)
    except LeaderError as error:
        db.rollback()
        return _agreement_page(agreements.get_agreement(db, me, match_id), values=values,
                               version=version, errors=error.errors, editing=True)
    db.commit()
    other = view.match.other.name
    if saved.cleared_other:
        flash(f"Your changes are saved. {other} had confirmed the earlier version, so their "
              f"confirmation is cleared: we have emailed them to read it and confirm again.",
              "success")
    elif saved.changed and confirm:
        flash(f"Your agreement is saved and you have confirmed it. {other} confirms it next.",
              "success")
    elif saved.changed:
        flash(f"Your draft is saved. {other} can read and change it; you both confirm it when "
              "it is ready.", "success")
    elif confirm:
        flash("Nothing had changed. You have confirmed the agreement.", "success")
    else:
        flash("Nothing has changed.", "info")
    return redirect(url_for("outcomes.agreement", match_id=match_id))


@bp.route("/matches/<int:match_id>/agreement/confirm", methods=["POST"])
@roles_required(Role.LEADER)
def confirm_agreement(match_id: int):
    db = get_session()
    me = _me()
    try:
        view = agreements.confirm(db, me, current_user, match_id,
                                  request.form.get("version", ""), utcnow())
    except NotFound:
        abort(404)
    except LeaderError as error:
        db.rollback()
        return _agreement_page(agreements.get_agreement(db, me, match_id), errors=error.errors)
    db.commit()
    flash("You have both confirmed the agreement." if view.other_confirmed
          else f"You have confirmed the agreement. {view.match.other.name} confirms it next.",
          "success")
    return redirect(url_for("outcomes.agreement", match_id=match_id))


# --- check-ins and concerns ----------------------------------------------------------------


@bp.route("/matches/<int:match_id>/check-in/<any(midpoint, end):point>",
          methods=["GET", "POST"])
@roles_required(Role.LEADER)
def check_in(match_id: int, point: str):
    db = get_session()
    me = _me()
    try:
        view = check_ins.get_check_in(db, me, match_id, point)
    except (NotFound, LookupError):
        abort(404)
    errors: dict[str, str] = {}
    values = {key: request.form.get(key, "") for key in ("have_met", "going_well",
                                                          "anything_else")}
    now = utcnow()
    if request.method == "POST":
        try:
            check_ins.give_check_in(db, me, current_user, match_id, point, request.form, now)
        except LeaderError as error:
            db.rollback()
            errors = error.errors
        else:
            db.commit()
            flash("Thank you. Your answers go to the programme coordinators only.", "success")
            return redirect(url_for("exchanges.match", match_id=match_id))
    return render_template(
        "outcomes/check_in.html", view=view, values=values, errors=errors, now=now,
        is_open=view.is_open(now), have_met=check_ins.HAVE_MET_LABELS,
        going_well=check_ins.GOING_WELL_LABELS, form=CsrfForm(),
        max_length=check_ins.ANYTHING_MAX_LENGTH,
    ), 400 if errors else 200


@bp.route("/matches/<int:match_id>/concern", methods=["GET", "POST"])
@roles_required(Role.LEADER)
def raise_concern(match_id: int):
    db = get_session()
    me = _me()
    try:
        view = check_ins.concern_page(db, me, match_id)
    except NotFound:
        abort(404)
    errors: dict[str, str] = {}
    text = request.form.get("text", "")
    if request.method == "POST":
        try:
            check_ins.raise_concern(db, me, current_user, match_id, text, utcnow())
        except LeaderError as error:
            db.rollback()
            errors = error.errors
        else:
            db.commit()
            flash(f"Your concern has been sent to the programme coordinators. {view.other.name} "
                  "is not told. A coordinator will contact you.", "success")
            return redirect(url_for("exchanges.match", match_id=match_id))
    return render_template(
        "outcomes/concern.html", view=view, text=text, errors=errors, form=CsrfForm(),
        max_length=check_ins.CONCERN_MAX_LENGTH,
    ), 400 if errors else 200


# --- the coordinators' view --------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/pair-progress")
@roles_required(*COORDINATORS)
def round_progress(round_id: int):
    found = progress.pair_progress(get_session(), round_or_404(round_id), utcnow())
    return render_template("outcomes/progress.html", progress=found, now=utcnow(),
                           point_labels=check_ins.POINT_LABELS,
                           have_met=check_ins.HAVE_MET_SHORT,
                           going_well=check_ins.GOING_WELL_SHORT)


@bp.route("/rounds/<int:round_id>/pair-progress/<int:match_id>/agreement")
@roles_required(*COORDINATORS)
def shared_agreement(round_id: int, match_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    try:
        shared = agreements.shared_agreement(db, round_id, match_id)
    except LookupError:
        abort(404)
    return render_template("outcomes/shared_agreement.html", programme_round=programme_round,
                           agreement=shared.agreement, pair=shared)
