"""Coordinator pages for decisions by hand: make a pair, choose or move an exchange's date, and
answer a leader's request to move with the half-days that fit what they asked."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mentoring.access import recent_sign_in_required, roles_required
from mentoring.db import get_session
from mentoring.forms import row_id
from mentoring.matching import by_hand
from mentoring.matching.half_day_filter import HalfDayFilter, from_query
from mentoring.models import ProgrammeRound, utcnow
from mentoring.slots import WEEKDAYS
from mentoring.view_helpers import client_ip, require_csrf, round_or_404
from mentoring.vocab import Role

bp = Blueprint("by_hand", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)
PAIRS_SHOWN = 200


def _filter(wish: HalfDayFilter | None = None) -> tuple[HalfDayFilter, dict[str, str], bool]:
    """The half-day filter from the query string; a leader's wish when the page was opened
    without one (True: the wish is what is shown)."""
    args = request.args
    if wish is not None and not any(name in args for name in ("weekday", "period", "from",
                                                                "to", "filtered")):
        return wish, {}, True
    wanted, errors = from_query(args)
    return wanted, errors, False


def _page_context(programme_round: ProgrammeRound, wanted: HalfDayFilter) -> dict:
    return {"programme_round": programme_round, "wanted": wanted, "weekdays": WEEKDAYS,
            "query": wanted.query()}


# --- the round's pairs --------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/by-hand")
@roles_required(*COORDINATORS)
def index(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    search = (request.args.get("q") or "").strip()[:100]
    pairs = by_hand.live_pairs(db, programme_round, search)
    # A big round has thousands of pairs: the first ones, and a search for the others.
    return render_template("matching/by_hand/index.html", programme_round=programme_round,
                           pairs=pairs[:PAIRS_SHOWN], total=len(pairs), search=search,
                           now=utcnow())


# --- make a pair --------------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/by-hand/pair", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
@recent_sign_in_required
def make_pair(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    source = request.form if request.method == "POST" else request.args
    mentor_id, mentee_id = row_id(source.get("mentor")), row_id(source.get("mentee"))
    errors: dict[str, str] = {}
    now = utcnow()
    if request.method == "POST":
        require_csrf()
        if mentor_id is None:
            errors["mentor"] = "Choose the mentor"
        if mentee_id is None:
            errors["mentee"] = "Choose the mentee"
        if not errors:
            pair = by_hand.Pair(mentor_id, mentee_id)
            chosen, form_errors = by_hand.read_choices(
                request.form, programme_round.exchanges_per_pair, pair)
            try:
                by_hand.make_pair(db, programme_round, current_user, pair, chosen, now,
                                  request.form.get("note", ""), form_errors=form_errors,
                                  ip=client_ip())
            except by_hand.HandError as exc:
                db.rollback()
                errors = exc.errors
            else:
                db.commit()
                flash("The pair is offered: both leaders are being emailed their introduction "
                      "and the proposed dates. The exchanges are booked once both accept.",
                      "success")
                return redirect(url_for("by_hand.index", round_id=round_id))
    mentors, mentees = by_hand.candidates(db, programme_round)
    wanted, filter_errors, _ = _filter()
    check, weeks, pair_problems = None, [], []
    if mentor_id is not None and mentee_id is not None and mentor_id != mentee_id:
        try:
            check = by_hand.RoundCheck(db, programme_round,
                                       by_hand.Pair(mentor_id, mentee_id), now)
        except by_hand.HandError as exc:
            errors = {**exc.errors, **errors}
        else:
            weeks = by_hand.half_days_for(check, wanted, now,
                                          hosts=(mentor_id, mentee_id))
            pair_problems = by_hand.pair_problems(check)
    elif mentor_id is not None and mentor_id == mentee_id:
        errors.setdefault("mentee", "Choose two different leaders")
    status = 400 if errors and request.method == "POST" else 200
    return render_template(
        "matching/by_hand/pair.html", **_page_context(programme_round, wanted),
        mentors=mentors, mentees=mentees, mentor_id=mentor_id, mentee_id=mentee_id,
        check=check, weeks=weeks, pair_problems=pair_problems, errors=errors,
        filter_errors=filter_errors,
        form=request.form if request.method == "POST" else {},
        exchanges_per_pair=programme_round.exchanges_per_pair,
    ), status


# --- choose or move a date ----------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/by-hand/exchanges/<int:exchange_id>/move",
          methods=["GET", "POST"])
@roles_required(*COORDINATORS)
@recent_sign_in_required
def move_exchange(round_id: int, exchange_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    try:
        exchange, match = by_hand.round_exchange(db, programme_round, exchange_id)
    except LookupError:
        abort(404)
    now = utcnow()
    errors: dict[str, str] = {}
    if request.method == "POST":
        require_csrf()
        try:
            by_hand.move_exchange(db, programme_round, current_user, exchange_id,
                                  request.form.get("slot", ""), now,
                                  request.form.get("note", ""), ip=client_ip())
        except by_hand.HandError as exc:
            db.rollback()
            errors = exc.errors
        else:
            db.commit()
            flash("The exchange has moved. Both leaders are being emailed the new date with "
                  "the updated calendar invitation." if exchange.was_booked else
                  "The exchange has moved. The offer shows both leaders the new date.",
                  "success")
            return redirect(url_for("by_hand.index", round_id=round_id))
        db.refresh(exchange)
    move_request = by_hand.open_move_request(db, programme_round, exchange, now)
    wanted, filter_errors, from_wish = _filter(move_request.wish if move_request else None)
    pair = by_hand.pair_exchanges(db, match)
    weeks = []
    try:
        check = by_hand.RoundCheck(db, programme_round, pair.pair, now)
    except by_hand.HandError as exc:
        errors = {**exc.errors, **errors}
    else:
        weeks = by_hand.half_days_for(check, wanted, now, moving=exchange)
    return render_template(
        "matching/by_hand/date.html", **_page_context(programme_round, wanted),
        pair=pair, exchange=exchange, move_request=move_request, from_wish=from_wish,
        weeks=weeks, errors=errors, filter_errors=filter_errors, form=request.form,
        action=url_for("by_hand.move_exchange", round_id=round_id, exchange_id=exchange_id),
    ), 400 if errors else 200


@bp.route("/rounds/<int:round_id>/by-hand/matches/<int:match_id>/exchanges/new",
          methods=["GET", "POST"])
@roles_required(*COORDINATORS)
@recent_sign_in_required
def add_exchange(round_id: int, match_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    try:
        match = by_hand.round_match(db, programme_round, match_id)
    except LookupError:
        abort(404)
    now = utcnow()
    errors: dict[str, str] = {}
    if request.method == "POST":
        require_csrf()
        try:
            by_hand.add_exchange(db, programme_round, current_user, match_id,
                                 request.form.get("slot", ""),
                                 row_id(request.form.get("host")) or 0, now,
                                 request.form.get("note", ""), ip=client_ip())
        except by_hand.HandError as exc:
            db.rollback()
            errors = exc.errors
        else:
            db.commit()
            flash("The exchange is added. Both leaders are being emailed its calendar "
                  "invitation." if match.status == "accepted" else
                  "The exchange is added to the offer: both leaders see it when they answer.",
                  "success")
            return redirect(url_for("by_hand.index", round_id=round_id))
    wanted, filter_errors, _ = _filter()
    pair = by_hand.pair_exchanges(db, match)
    weeks = []
    try:
        check = by_hand.RoundCheck(db, programme_round, pair.pair, now)
    except by_hand.HandError as exc:
        errors = {**exc.errors, **errors}
    else:
        weeks = by_hand.half_days_for(check, wanted, now,
                                      hosts=(match.mentor_id, match.mentee_id))
    return render_template(
        "matching/by_hand/date.html", **_page_context(programme_round, wanted),
        pair=pair, exchange=None, move_request=None, from_wish=False, weeks=weeks,
        errors=errors, filter_errors=filter_errors, form=request.form,
        action=url_for("by_hand.add_exchange", round_id=round_id, match_id=match_id),
    ), 400 if errors else 200
