"""Availability pages: join a round, a weekly pattern, then exceptions date by date."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring.access import roles_required
from mentoring.availability import services
from mentoring.db import get_session
from mentoring.forms import CsrfForm
from mentoring.models import ProgrammeRound
from mentoring.profile.services import profile_of
from mentoring.slots import PERIOD_HOURS, PERIOD_LABELS, WEEKDAYS, describe, half_days

bp = Blueprint("availability", __name__)
WEEKDAY_NUMBERS = {str(number) for number in range(len(WEEKDAYS))}


def _profile_or_redirect():
    profile = profile_of(get_session(), current_user)
    if profile is None:
        flash("Complete your profile before you set when you are free.", "info")
    return profile


def _round(round_id: int) -> ProgrammeRound:
    programme_round = get_session().get(ProgrammeRound, round_id)
    if programme_round is None:
        abort(404)
    return programme_round


@bp.route("/availability")
@roles_required("leader")
def index():
    db = get_session()
    profile = profile_of(db, current_user)
    rounds = services.open_rounds(db)
    joined = {
        programme_round.id for programme_round in rounds
        if profile and services.participation(db, programme_round.id, profile.id)
    }
    return render_template("availability/index.html", rounds=rounds, joined=joined,
                           profile=profile, form=CsrfForm())


@bp.route("/rounds/<int:round_id>/join", methods=["POST"])
@roles_required("leader")
def join(round_id: int):
    profile = _profile_or_redirect()
    if profile is None:
        return redirect(url_for("profile.overview"))
    if not CsrfForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        services.join_round(db, _round(round_id), profile, current_user)
    except services.AvailabilityError as exc:
        flash(str(exc), "info")
        return redirect(url_for("availability.index"))
    db.commit()
    flash("You have joined the round. Now tell us when you are free.", "success")
    return redirect(url_for("availability.edit", round_id=round_id))


@bp.route("/rounds/<int:round_id>/availability", methods=["GET", "POST"])
@roles_required("leader")
def edit(round_id: int):
    profile = _profile_or_redirect()
    if profile is None:
        return redirect(url_for("profile.overview"))
    db = get_session()
    programme_round = _round(round_id)
    if services.participation(db, round_id, profile.id) is None:
        flash("Join this round first.", "info")
        return redirect(url_for("availability.index"))
    free = services.free_half_days(db, round_id, profile.id)
    form = CsrfForm()
    result = None
    error = ""
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            chosen = _chosen(programme_round)
            result = services.save_availability(
                db, programme_round, profile, current_user, chosen,
                confirm=request.form.get("confirm") == "yes",
            )
        except services.AvailabilityError as exc:
            error = str(exc)
        else:
            if result.saved:
                db.commit()
                summary = services.summarise(result.free)
                flash(f"Saved. {summary.sentence()}.", "success")
                return redirect(url_for("availability.edit", round_id=round_id))
            free = result.free  # show what they chose, with the warning
    weeks = _weeks(programme_round)
    return render_template(
        "availability/edit.html",
        programme_round=programme_round,
        free={f"{day.isoformat()}:{period}" for day, period in free},
        pattern={f"{weekday}:{period}" for weekday, period in
                 services.usual_pattern(free, len(weeks))},
        weeks=weeks,
        weekdays=WEEKDAYS,
        periods=PERIOD_HOURS,
        period_labels=PERIOD_LABELS,
        summary=services.summarise(free),
        affected=result.affected if result else [],
        error=error,
        form=form,
    ), (400 if error else 200)


def _chosen(programme_round: ProgrammeRound) -> set:
    """The half-days the form chose: a weekly pattern, or individual dates."""
    if request.form.get("action") == "pattern":
        pattern = set()
        for value in request.form.getlist("pattern"):
            weekday, _, period = value.partition(":")
            # Monday is 0, Friday 4: only those (isdigit() passes '²', which int() refuses).
            if weekday not in WEEKDAY_NUMBERS or period not in PERIOD_HOURS:
                raise services.AvailabilityError("Choose half-days from the list")
            pattern.add((int(weekday), period))
        return services.apply_pattern(programme_round, pattern)
    chosen = set()
    for value in request.form.getlist("free"):
        day, _, period = value.partition(":")
        try:
            chosen.add((date.fromisoformat(day), period))
        except ValueError:
            raise services.AvailabilityError("Choose half-days from the list") from None
        if period not in PERIOD_HOURS:
            raise services.AvailabilityError("Choose half-days from the list")
    return chosen


def _weeks(programme_round: ProgrammeRound) -> list[list[tuple[date, str, str]]]:
    """The window's half-days grouped by ISO week, each with its label."""
    weeks: dict[tuple[int, int], list] = {}
    for day, period in half_days(programme_round.starts_on, programme_round.ends_on):
        weeks.setdefault(day.isocalendar()[:2], []).append((day, period, describe(day, period)))
    return list(weeks.values())
