"""Availability pages: join a round, a weekly pattern, then exceptions date by date."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from itertools import product
from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring.access import roles_required
from mentoring.availability import services
from mentoring.calendar_days import ClosedDays, closed_days
from mentoring.confidence import services as confidence
from mentoring.db import get_session
from mentoring.filters import format_date, to_london
from mentoring.forms import CsrfForm
from mentoring.models import Moment, ProgrammeRound, User, utcnow
from mentoring.profile.services import profile_of
from mentoring.slots import PERIOD_HOURS, PERIOD_LABELS, WEEKDAYS, weekdays
from mentoring.view_helpers import require_csrf, round_or_404
from mentoring.vocab import ParticipantStatus, RoundStatus

bp = Blueprint("availability", __name__)
WEEKDAY_NUMBERS = {str(number) for number in range(len(WEEKDAYS))}


def _profile_or_redirect():
    profile = profile_of(get_session(), current_user)
    if profile is None:
        flash("Complete your profile before you set when you are free.", "info")
    return profile


@bp.route("/availability")
@roles_required("leader")
def index():
    db = get_session()
    profile = profile_of(db, current_user)
    rounds = services.open_rounds(db)
    taking_part = {
        programme_round.id: participant for programme_round in rounds
        if profile and (participant := services.participation(db, programme_round.id, profile.id))
    }
    joined = {round_id for round_id, participant in taking_part.items()
              if participant.status == ParticipantStatus.JOINED}
    left = {round_id: participant.withdrawn_at for round_id, participant in taking_part.items()
            if participant.status == ParticipantStatus.WITHDRAWN}
    not_assessed = joined - confidence.answered(db, profile.id, list(joined), Moment.JOINING) \
        if profile else set()
    return render_template("availability/index.html", rounds=rounds, joined=joined, left=left,
                           not_assessed=not_assessed, profile=profile, form=CsrfForm())


@bp.route("/rounds/<int:round_id>/join", methods=["POST"])
@roles_required("leader")
def join(round_id: int):
    profile = _profile_or_redirect()
    if profile is None:
        return redirect(url_for("profile.overview"))
    require_csrf()
    db = get_session()
    programme_round = round_or_404(round_id)
    try:
        services.join_round(db, programme_round, profile, current_user)
    except services.AvailabilityError as exc:
        flash(str(exc), "info")
        return redirect(url_for("availability.index"))
    db.commit()
    if not confidence.answered(db, profile.id, [round_id], Moment.JOINING):
        # First, eight statements on how confident they feel (skippable): the baseline that
        # the end of the round is compared with.
        flash(f"You have joined {programme_round.name}.", "success")
        return redirect(url_for("confidence.question", round_id=round_id))
    flash(f"You have joined {programme_round.name}. Next, tell us which half-days you are free "
          f"between {format_date(programme_round.starts_on)} and "
          f"{format_date(programme_round.ends_on)}.", "success")
    return redirect(url_for("availability.edit", round_id=round_id))


@bp.route("/rounds/<int:round_id>/availability", methods=["GET", "POST"])
@roles_required("leader")
def edit(round_id: int):
    profile = _profile_or_redirect()
    if profile is None:
        return redirect(url_for("profile.overview"))
    db = get_session()
    programme_round = round_or_404(round_id)
    free = services.free_half_days_if_joined(db, round_id, profile.id)
    if free is None:
        participant = services.participation(db, round_id, profile.id)
        flash("You have left this round: rejoin it to tell us when you are free."
              if participant is not None and participant.status == ParticipantStatus.WITHDRAWN
              else "Join this round first.", "info")
        return redirect(url_for("availability.index"))
    closed = closed_days(db, programme_round)
    free = closed.open(free)  # what is saved on a closed day is kept, but does not count
    form = CsrfForm()
    result = None
    error = ""
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            chosen = _chosen(programme_round, closed)
            result = services.save_availability(
                db, programme_round, profile, current_user, chosen,
                confirm=request.form.get("confirm") == "yes", closed=closed,
            )
        except services.AvailabilityError as exc:
            error = str(exc)
        else:
            if result.saved:
                db.commit()
                flash(_saved_message(programme_round, result,
                                     services.has_live_match(db, round_id, profile.id)),
                      "success")
                return redirect(url_for("availability.edit", round_id=round_id))
            free = result.free  # show what they chose, with the warning
    weeks = _weeks(programme_round.starts_on, programme_round.ends_on, closed)
    return render_template(
        "availability/edit.html",
        programme_round=programme_round,
        free={f"{day.isoformat()}:{period}" for day, period in free},
        pattern={f"{weekday}:{period}" for weekday, period in
                 services.usual_pattern(free, len(weeks))},
        pattern_boxes=PATTERN_BOXES,
        weeks=weeks,
        any_closed=any(day.closed for week in weeks for day in week.days),
        periods=PERIOD_HOURS,
        period_labels=PERIOD_LABELS,
        summary=services.summarise(free),
        affected=result.affected if result else [],
        error=error,
        form=form,
    ), (400 if error else 200)


# --- what comes next: each step's message tells a leader what happens after it -------------


def next_step_after_profile(user: User) -> str:
    """The message when a leader saves their profile (the profile pages flash it)."""
    db = get_session()
    profile = profile_of(db, user)
    rounds = services.open_rounds(db)
    joined = [programme_round for programme_round in rounds
              if profile is not None and _joined(db, programme_round, profile.id)]
    for programme_round in joined:
        if not services.free_half_days(db, programme_round.id, profile.id):
            return (f"Your profile is saved. Next, tell us which half-days you are free in "
                    f"{programme_round.name}.")
    if joined:
        return ("Your profile is saved. The programme coordinators use it to find you a good "
                "match.")
    if rounds:
        return ("Your profile is saved. Next, join a round under 'When you are free' and tell "
                "us which half-days you are free.")
    return ("Your profile is saved. No round is open at the moment: your coordinator will tell "
            "you when the next one opens.")


def _joined(db, programme_round: ProgrammeRound, leader_id: int) -> bool:
    participant = services.participation(db, programme_round.id, leader_id)
    return participant is not None and participant.status == ParticipantStatus.JOINED


def _saved_message(programme_round: ProgrammeRound, result: services.SaveResult,
                   matched: bool = False) -> str:
    saved = f"Saved. {services.summarise(result.free).sentence()}."
    if result.affected:  # the leader confirmed removing half-days that hold exchanges
        return (f"{saved} Your coordinator will be told, and will rearrange the exchanges in "
                "the half-days you removed.")
    if matched or programme_round.status not in (RoundStatus.OPEN, RoundStatus.MATCHING):
        return (f"{saved} This round's match offers have gone out: the programme coordinators "
                "use these half-days for any new offer or changed exchange.")
    today = to_london(utcnow()).date()
    closes = programme_round.joining_closes_on
    then = (f"Matching starts after joining closes on {format_date(closes)}."
            if closes is not None and closes >= today
            else "Next, the programme coordinators match the leaders in this round.")
    offers = programme_round.offers_on
    around = f", around {format_date(offers)}" if offers is not None and offers >= today else ""
    return (f"{saved} {then} We will email you when the programme coordinators offer you a "
            f"match{around}.")


def _chosen(programme_round: ProgrammeRound, closed: ClosedDays) -> set:
    """The half-days the form chose: a weekly pattern (closed days skipped), or individual
    dates (the service ignores closed days)."""
    if request.form.get("action") == "pattern":
        pattern = set()
        for value in request.form.getlist("pattern"):
            weekday, _, period = value.partition(":")
            # Monday is 0, Friday 4: only those (isdigit() passes '²', which int() refuses).
            if weekday not in WEEKDAY_NUMBERS or period not in PERIOD_HOURS:
                raise services.AvailabilityError("Choose half-days from the list")
            pattern.add((int(weekday), period))
        return services.apply_pattern(programme_round, pattern, closed)
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


class Checkbox(NamedTuple):
    """One NHS.UK checkbox of the page (ticked or not is the template's to say). The page has
    130 of them, and building each one's id and label in Jinja, or with the NHS.UK macro, was
    most of the page's time: they are built here, once per round's window."""

    value: str
    field_id: str
    label: str


class GridDay(NamedTuple):
    label: str  # "Monday 4 January": the row header, and each checkbox's hidden context
    half_days: tuple[Checkbox, ...]
    closed: str = ""  # "Bank holiday: Christmas Day": shown instead of the checkboxes


class GridWeek(NamedTuple):
    starts_on: date
    days: tuple[GridDay, ...]


# The usual week's checkboxes, with the ids the NHS.UK checkboxes macro would give them (the
# first is the bare prefix, so that an error summary can link to it).
PATTERN_BOXES = tuple(
    Checkbox(value=f"{weekday}:{period}",
             field_id="pattern" if number == 1 else f"pattern-{number}",
             label=f"{WEEKDAYS[weekday]} {PERIOD_LABELS[period]}")
    for number, (weekday, period) in enumerate(product(range(len(WEEKDAYS)), PERIOD_HOURS),
                                               start=1)
)


@lru_cache(maxsize=64)
def _weeks(starts_on: date, ends_on: date, closed: ClosedDays) -> tuple[GridWeek, ...]:
    """The window's weekdays grouped by ISO week, each with its half-days' checkboxes, or
    why the day is closed."""
    weeks: dict[tuple[int, int], list[date]] = {}
    for day in weekdays(starts_on, ends_on):
        weeks.setdefault(day.isocalendar()[:2], []).append(day)
    return tuple(GridWeek(starts_on=days[0],
                          days=tuple(_grid_day(day, closed.label(day)) for day in days))
                 for days in weeks.values())


def _grid_day(day: date, closed: str) -> GridDay:
    iso = day.isoformat()
    return GridDay(
        label=f"{day:%A} {day.day} {day:%B}",
        half_days=() if closed else tuple(
            Checkbox(value=f"{iso}:{period}", field_id=f"free-{iso}-{period}",
                     label=PERIOD_LABELS[period].capitalize())
            for period in PERIOD_HOURS),
        closed=closed,
    )
