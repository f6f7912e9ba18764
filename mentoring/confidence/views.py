"""The self-assessment page (a leader's own answers only) and the evaluator's downloads."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring import audit
from mentoring.access import roles_required
from mentoring.confidence import services
from mentoring.db import get_session
from mentoring.filters import format_date
from mentoring.forms import CsrfForm
from mentoring.insights import confidence
from mentoring.models import Moment
from mentoring.profile.services import profile_of
from mentoring.view_helpers import client_ip, round_or_404
from mentoring.vocab import Role

bp = Blueprint("confidence", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)


@bp.route("/rounds/<int:round_id>/self-assessment", methods=["GET", "POST"])
@roles_required(Role.LEADER)
def question(round_id: int):
    db = get_session()
    profile = profile_of(db, current_user)
    # A leader not in the round learns nothing about it (the same answer as a missing round).
    if profile is None or not services.taking_part(db, round_id, profile.id):
        abort(404)
    programme_round = round_or_404(round_id)
    moment = services.moment_for(programme_round, services.london_today())
    saved = services.own_answers(db, round_id, profile.id, moment)
    values = {key: str(value) for key, value in (saved.answers if saved else {}).items()}
    errors: dict[str, str] = {}
    form = CsrfForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        answers, errors = services.parse(request.form)
        values = {key: request.form.get(key, "") for key in services.STATEMENT_KEYS}
        if not errors:
            services.save(db, programme_round, profile, answers, services.london_today())
            db.commit()
            if moment == Moment.JOINING:
                flash("Thank you: your answers are saved, and we will ask again when the round "
                      "ends. Next, tell us which half-days you are free between "
                      f"{format_date(programme_round.starts_on)} and "
                      f"{format_date(programme_round.ends_on)}.", "success")
                return redirect(url_for("availability.edit", round_id=round_id))
            flash("Thank you: your answers are saved. They help show whether the programme "
                  "works.", "success")
            return redirect(url_for("main.home"))
    return render_template(
        "confidence/question.html", programme_round=programme_round, moment=moment,
        statements=services.STATEMENTS, scale=services.SCALE, values=values, errors=errors,
        saved=saved, form=form, minimum=confidence.MINIMUM_GROUP,
    ), (400 if errors else 200)


@bp.route("/rounds/<int:round_id>/self-assessment/export.csv")
@roles_required(*COORDINATORS)
def export(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    text, rows = confidence.evaluator_csv(db, programme_round)
    # Who downloaded the answers, and when, is on the record (they are about people).
    audit.record(db, "self_assessment.exported", actor=current_user, obj=programme_round,
                 detail={"rows": rows}, ip=client_ip())
    db.commit()
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition":
            f'attachment; filename="round-{round_id}-self-assessment-for-evaluation.csv"',
        "Cache-Control": "no-store",
    })


@bp.route("/rounds/<int:round_id>/self-assessment/data-dictionary.csv")
@roles_required(*COORDINATORS)
def data_dictionary(round_id: int):
    round_or_404(round_id)
    return Response(confidence.data_dictionary_csv(), mimetype="text/csv", headers={
        "Content-Disposition":
            f'attachment; filename="round-{round_id}-self-assessment-data-dictionary.csv"'})
