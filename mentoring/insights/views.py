"""Dashboard, feedback summaries, reports and 'you said, we did' per round: thin views."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring.access import roles_required
from mentoring.db import get_session
from mentoring.exchanges.services import profile_of
from mentoring.forms import CsrfForm
from mentoring.insights import charts, feedback, figures, report, you_said
from mentoring.insights.you_said import NotFound, YouSaidError
from mentoring.models import ProgrammeRound, utcnow
from mentoring.outcomes.progress import pair_progress
from mentoring.view_helpers import client_ip
from mentoring.visits import checks
from mentoring.vocab import Role

bp = Blueprint("insights", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)


def _figures(round_id: int) -> figures.Dashboard:
    found = figures.dashboard(get_session(), round_id, utcnow())
    if found is None:
        abort(404)
    return found


@bp.context_processor
def _formatting() -> dict:
    """The same number formats in the tables as in the charts (this blueprint's pages only)."""
    return {"percent": charts.percent, "number": charts.number}


@bp.route("/rounds/<int:round_id>/dashboard")
@roles_required(*COORDINATORS)
def dashboard(round_id: int):
    found = _figures(round_id)
    db = get_session()
    return render_template("insights/dashboard.html", figures=found,
                           charts=charts.dashboard_charts(found),
                           at_risk=checks.at_risk(db, found.computed_at, round_id),
                           pair_progress=pair_progress(db, db.get(ProgrammeRound, round_id),
                                                       found.computed_at))


@bp.route("/rounds/<int:round_id>/feedback")
@roles_required(*COORDINATORS)
def feedback_summary(round_id: int):
    db = get_session()
    try:
        programme_round = you_said.get_round(db, round_id)
    except NotFound:
        abort(404)
    summary = feedback.summary(db, round_id)
    return render_template(
        "insights/feedback.html", programme_round=programme_round, summary=summary,
        ratings_chart=charts.ratings_chart("chart-ratings", summary.ratings),
    )


@bp.route("/rounds/<int:round_id>/report")
@roles_required(*COORDINATORS)
def round_report(round_id: int):
    db = get_session()
    found = _figures(round_id)
    programme_round = you_said.get_round(db, round_id)
    return render_template(
        "insights/report.html", figures=found, charts=charts.dashboard_charts(found),
        summary=feedback.summary(db, round_id), programme_round=programme_round,
        you_said_paragraphs=you_said.paragraphs(programme_round.you_said_we_did)
        if programme_round.you_said_we_did_published_at else [],
    )


@bp.route("/rounds/<int:round_id>/report.csv")
@roles_required(*COORDINATORS)
def round_report_csv(round_id: int):
    found = _figures(round_id)
    return Response(
        report.figures_csv(found),
        mimetype="text/csv",
        headers={"Content-Disposition":
                 f'attachment; filename="round-{round_id}-figures.csv"'},
    )


@bp.route("/rounds/<int:round_id>/you-said-we-did", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def you_said_we_did(round_id: int):
    db = get_session()
    try:
        programme_round = you_said.get_round(db, round_id)
    except NotFound:
        abort(404)
    form = CsrfForm()
    errors: dict[str, str] = {}
    text = request.form.get("text", programme_round.you_said_we_did)
    if request.method == "POST" and form.validate_on_submit():
        publish = request.form.get("action") == "publish"
        was_published = programme_round.you_said_we_did_published_at is not None
        try:
            you_said.save(db, programme_round, current_user, text, publish, utcnow(), client_ip())
        except YouSaidError as error:
            errors = error.errors
        else:
            db.commit()
            if programme_round.you_said_we_did_published_at and not was_published:
                flash("Published. Leaders who took part in the round can now read it.", "success")
            elif programme_round.you_said_we_did_published_at:
                flash("Saved. Leaders see the new text.", "success")
            else:
                flash("Saved as a draft. Leaders cannot see it until you publish it.", "success")
            return redirect(url_for("insights.you_said_we_did", round_id=round_id))
    elif request.method == "POST":
        errors = {"": "Your form expired. Try again."}
    summary = feedback.summary(db, round_id)
    return render_template(
        "insights/you_said_we_did.html", programme_round=programme_round, form=form,
        errors=errors, text=text, summary=summary, listening=you_said.listening(db, round_id),
    ), 400 if errors else 200


@bp.route("/rounds/<int:round_id>/you-said-we-did/unpublish", methods=["POST"])
@roles_required(*COORDINATORS)
def unpublish_you_said_we_did(round_id: int):
    db = get_session()
    try:
        programme_round = you_said.get_round(db, round_id)
    except NotFound:
        abort(404)
    if not CsrfForm().validate_on_submit():
        flash("Your form expired. Try again.", "info")
    elif you_said.unpublish(db, programme_round, current_user, client_ip()):
        db.commit()
        flash("Unpublished. Leaders can no longer see it.", "success")
    return redirect(url_for("insights.you_said_we_did", round_id=round_id))


@bp.route("/rounds/<int:round_id>/you-said-we-did/read")
@roles_required(Role.LEADER)
def read_you_said_we_did(round_id: int):
    db = get_session()
    try:
        published = you_said.read_for_leader(db, profile_of(db, current_user), round_id)
    except NotFound:
        abort(404)
    return render_template("insights/you_said_we_did_read.html", published=published)
