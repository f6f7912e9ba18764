"""A leader's matches and exchanges, calendar, feedback and reflections: thin views."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from mentoring.access import roles_required
from mentoring.availability.services import left_open_rounds
from mentoring.db import get_session
from mentoring.exchanges import reflections as reflection_log
from mentoring.exchanges import services, visits
from mentoring.exchanges.services import LeaderError, NotFound
from mentoring.filters import day_and_time
from mentoring.forms import CsrfForm, row_id
from mentoring.models import NOTE_MAX_LENGTH, utcnow
from mentoring.notifications.plan import when
from mentoring.offers import services as offers
from mentoring.outcomes.agreements import AgreementView, agreement_of
from mentoring.outcomes.check_ins import my_check_ins
from mentoring.vocab import DECLINE_REASONS, ExchangeStatus, MatchStatus

bp = Blueprint("exchanges", __name__)
EXPIRED = {"": "Your form expired. Try again."}


@bp.app_template_filter("exchange_when")
def exchange_when(exchange) -> str:
    """'Tuesday 30 March 2027, 9:00am to 1:00pm' in London time."""
    return when(exchange.starts_at, exchange.ends_at)


def _me():
    profile = services.profile_of(get_session(), current_user)
    if profile is None:
        abort(404)
    return profile


def _mail_from() -> str:
    return current_app.extensions["mentoring.settings"].mail_from


def _form_ok(form: CsrfForm) -> bool:
    return request.method == "POST" and form.validate_on_submit()


# --- matches -------------------------------------------------------------------------------


@bp.route("/matches")
@roles_required("leader")
def my_matches():
    db = get_session()
    profile = services.profile_of(db, current_user)
    matches, exchanges = services.my_matches_and_exchanges(db, profile) if profile else ([], [])
    now = utcnow()
    return render_template(
        "exchanges/my_matches.html",
        profile=profile,
        matches=matches,
        upcoming=[e for e in exchanges if e.is_upcoming(now)],
        held=[e for e in exchanges if e.exchange.status == ExchangeStatus.HELD],
        # Half-days only held for an offer and then released are on the match's page only.
        past=[e for e in exchanges if not e.is_upcoming(now) and e.exchange.was_booked],
        now=now,
        left=left_open_rounds(db, profile.id) if profile else [],
        form=CsrfForm(),
    )


@bp.route("/matches/<int:match_id>")
@roles_required("leader")
def match(match_id: int):
    db = get_session()
    me = _me()
    try:
        view = services.get_match(db, me, match_id)
    except NotFound:
        abort(404)
    now = utcnow()
    return render_template(
        "exchanges/match.html", view=view, now=now, form=CsrfForm(),
        agreement=AgreementView(view, agreement_of(db, match_id)),
        check_ins=my_check_ins(db, me, view, now),
    )


@bp.route("/matches/<int:match_id>/accept", methods=["POST"])
@roles_required("leader")
def accept_match(match_id: int):
    db = get_session()
    me = _me()
    form = CsrfForm()
    if not form.validate_on_submit():
        flash("Your form expired. Try again.", "info")
        return redirect(url_for("exchanges.match", match_id=match_id))
    try:
        view = offers.accept_offer(db, me, current_user, match_id, utcnow())
    except NotFound:
        abort(404)
    except LeaderError as error:
        flash(error.errors[""], "info")
        return redirect(url_for("exchanges.match", match_id=match_id))
    db.commit()
    if view.match.status == MatchStatus.ACCEPTED:
        flash(f"You and {view.other.name} have both accepted: your exchanges are booked. "
              "Your calendar invitations and {0}'s contact details are on their way by email."
              .format(view.other.name), "success")
    else:
        flash(f"You have accepted the match. Next, {view.other.name} answers: we will email "
              "you the calendar invitations as soon as they accept.", "success")
    return redirect(url_for("exchanges.match", match_id=match_id))


@bp.route("/matches/<int:match_id>/decline", methods=["GET", "POST"])
@roles_required("leader")
def decline_match(match_id: int):
    db = get_session()
    me = _me()
    try:
        view = services.get_match(db, me, match_id)
    except NotFound:
        abort(404)
    if not view.can_decide:
        return redirect(url_for("exchanges.match", match_id=match_id))
    form = CsrfForm()
    errors: dict[str, str] = {}
    choice = request.form.get("choice", "")
    reason = request.form.get("reason", "")
    different = request.form.get("wants_different_match") == "yes"
    if _form_ok(form):
        try:
            offers.decline_offer(db, me, current_user, match_id, choice=choice, reason=reason,
                                 wants_different_match=different, now=utcnow())
        except LeaderError as error:
            errors = error.errors
        else:
            db.commit()
            flash("You have declined the match and its half-days are free again. The programme "
                  "coordinators have been told" + (
                      " and will email you about a different match." if different else "."),
                  "success")
            return redirect(url_for("exchanges.my_matches"))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    status = 400 if errors else 200
    return render_template(
        "exchanges/decline.html", view=view, form=form, errors=errors, choice=choice,
        reason=reason, wants_different_match=different, choices=DECLINE_REASONS,
    ), status


# --- exchanges -----------------------------------------------------------------------------


def _exchange(exchange_id: int):
    try:
        return services.get_exchange(get_session(), _me(), exchange_id)
    except NotFound:
        abort(404)


def _exchange_page(view, *, note: str | None = None, note_version: str | None = None,
                   errors: dict[str, str] | None = None):
    """The exchange page; `note` and `note_version` keep what a leader wrote when the shared
    note was not saved."""
    now = utcnow()
    return render_template(
        "exchanges/exchange.html", view=view, now=now, form=CsrfForm(), errors=errors or {},
        note=view.exchange.note if note is None else note,
        note_version=visits.note_version(view.exchange) if note_version is None
        else note_version,
        can_edit_note=visits.can_edit_note(view),
        can_change_details=visits.can_change_details(view, now),
        note_max_length=NOTE_MAX_LENGTH,
    ), 400 if errors else 200


@bp.route("/exchanges/<int:exchange_id>")
@roles_required("leader")
def exchange(exchange_id: int):
    return _exchange_page(_exchange(exchange_id))


@bp.route("/exchanges/<int:exchange_id>/note", methods=["POST"])
@roles_required("leader")
def shared_note(exchange_id: int):
    """Either leader of the pair saves the note they share ("the question we will explore")."""
    db = get_session()
    me = _me()
    view = _exchange(exchange_id)
    # CSRF is checked before any view runs (mentoring.web).
    text = request.form.get("note", "")
    version = request.form.get("version", "")
    try:
        saved = visits.save_note(db, me, current_user, exchange_id, text, version, utcnow())
    except LeaderError as error:
        return _exchange_page(view, note=text, note_version=version, errors=error.errors)
    db.commit()
    if saved:
        flash(f"Your shared note is saved. {view.other.name} sees it on this page.", "success")
    return redirect(url_for("exchanges.exchange", exchange_id=exchange_id) + "#note")


@bp.route("/exchanges/<int:exchange_id>/visit-details", methods=["GET", "POST"])
@roles_required("leader")
def visit_details(exchange_id: int):
    """The host changes where to go and what to know for this one exchange."""
    db = get_session()
    me = _me()
    try:
        view = visits.hosted_exchange(db, me, exchange_id)
    except NotFound:
        abort(404)
    now = utcnow()
    if not visits.can_change_details(view, now):
        return redirect(url_for("exchanges.exchange", exchange_id=exchange_id))
    form = CsrfForm()
    errors: dict[str, str] = {}
    values = visits.details_of(view.exchange)
    if request.method == "POST":  # CSRF is checked before any view runs (mentoring.web)
        values = visits.parse_details(request.form)
        try:
            changed = visits.change_details(db, me, current_user, exchange_id, values, now)
        except LeaderError as error:
            errors = error.errors
        else:
            db.commit()
            if not changed:
                flash("Nothing has changed.", "info")
            elif view.exchange.status == ExchangeStatus.SCHEDULED:
                flash(f"The visit details are saved. We have emailed {view.visitor.name} and "
                      "you the new details, with the updated calendar invitation.", "success")
            else:
                flash(f"The visit details are saved. {view.visitor.name} sees them on the "
                      "exchange's page, and they go in the calendar invitation when it is "
                      "booked.", "success")
            return redirect(url_for("exchanges.exchange", exchange_id=exchange_id))
    return render_template(
        "exchanges/visit_details.html", view=view, form=form, errors=errors, values=values,
    ), (400 if errors else 200)


@bp.route("/exchanges/<int:exchange_id>.ics")
@roles_required("leader")
def exchange_ics(exchange_id: int):
    try:
        text, filename = services.exchange_ics(get_session(), _me(), exchange_id, _mail_from())
    except NotFound:
        abort(404)
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _exchange_form(exchange_id: int, template: str, action, success: str):
    """Cancel and reschedule-request share a shape: a reason, maybe more, then back."""
    db = get_session()
    me = _me()
    view = _exchange(exchange_id)
    now = utcnow()
    if not view.is_upcoming(now):
        return redirect(url_for("exchanges.exchange", exchange_id=exchange_id))
    form = CsrfForm()
    errors: dict[str, str] = {}
    values = {key: request.form.get(key, "") for key in ("reason", "preferred")}
    if _form_ok(form):
        try:
            action(db, me, current_user, exchange_id, values, now)
        except LeaderError as error:
            errors = error.errors
        else:
            db.commit()
            flash(success, "success")
            return redirect(url_for("exchanges.exchange", exchange_id=exchange_id))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    status = 400 if errors else 200
    return render_template(template, view=view, form=form, errors=errors, values=values), status


@bp.route("/exchanges/<int:exchange_id>/cancel", methods=["GET", "POST"])
@roles_required("leader")
def cancel_exchange(exchange_id: int):
    return _exchange_form(
        exchange_id, "exchanges/cancel.html",
        lambda db, me, user, xid, values, now: services.cancel_my_exchange(
            db, me, user, xid, values["reason"], now
        ),
        "The exchange is cancelled. We have told the other leader and the coordinators.",
    )


@bp.route("/exchanges/<int:exchange_id>/reschedule", methods=["GET", "POST"])
@roles_required("leader")
def reschedule_exchange(exchange_id: int):
    return _exchange_form(
        exchange_id, "exchanges/reschedule.html",
        lambda db, me, user, xid, values, now: services.request_reschedule(
            db, me, user, xid, values["reason"], values["preferred"], now
        ),
        "Your request to move the exchange has been sent to the programme coordinators.",
    )


# --- calendar feed -------------------------------------------------------------------------


@bp.route("/calendar")
@roles_required("leader")
def calendar():
    return render_template("exchanges/calendar.html", profile=_me(), form=CsrfForm(), feed_url=None)


@bp.route("/calendar/new", methods=["POST"])
@roles_required("leader")
def new_calendar_link():
    db = get_session()
    me = _me()
    form = CsrfForm()
    if not form.validate_on_submit():
        flash("Your form expired. Try again.", "info")
        return redirect(url_for("exchanges.calendar"))
    token = services.create_calendar_token(db, me, current_user)
    db.commit()
    base = current_app.extensions["mentoring.settings"].base_url.rstrip("/")
    feed_url = base + url_for("exchanges.calendar_feed", token=token)
    # Shown once, in this response: only a hash of the secret is kept. The webcal:// form opens
    # the calendar app (Apple Calendar, Outlook) ready to subscribe.
    webcal_url = "webcal://" + feed_url.partition("://")[2]
    return render_template("exchanges/calendar.html", profile=me, form=form, feed_url=feed_url,
                           webcal_url=webcal_url)


@bp.route("/calendar/revoke", methods=["POST"])
@roles_required("leader")
def revoke_calendar_link():
    db = get_session()
    me = _me()
    if CsrfForm().validate_on_submit():
        services.revoke_calendar_token(db, me, current_user)
        db.commit()
        flash("Your calendar link no longer works. Calendars that used it stop updating.",
              "success")
    return redirect(url_for("exchanges.calendar"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """Public: the secret in the URL is the key (calendar apps cannot sign in)."""
    db = get_session()
    profile = services.leader_for_token(db, token)
    if profile is None:
        abort(404)
    response = Response(services.calendar_feed(db, profile, _mail_from()), mimetype="text/calendar")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- feedback and reflections --------------------------------------------------------------

FEEDBACK_FIELDS = ("rating", "learned", "will_do_differently", "for_coordinators")


@bp.route("/exchanges/<int:exchange_id>/feedback", methods=["GET", "POST"])
@roles_required("leader")
def feedback(exchange_id: int):
    db = get_session()
    me = _me()
    view = _exchange(exchange_id)
    now = utcnow()
    if not view.feedback_open(now) or view.my_feedback is not None:
        if view.my_feedback is None and view.exchange.status != ExchangeStatus.CANCELLED:
            flash(f"The feedback form opens at {day_and_time(view.feedback_opens_at)}.", "info")
        return redirect(url_for("exchanges.exchange", exchange_id=exchange_id))
    form = CsrfForm()
    errors: dict[str, str] = {}
    values = {key: request.form.get(key, "") for key in FEEDBACK_FIELDS}
    values["agree_to_be_named"] = request.form.get("agree_to_be_named") == "yes"
    if _form_ok(form):
        data = dict(values)
        if not data["rating"]:
            data.pop("rating")
        try:
            services.give_feedback(db, me, current_user, exchange_id, data, now)
        except LeaderError as error:
            errors = error.errors
        except IntegrityError:  # the same leader sent the form twice at once
            db.rollback()
            return redirect(url_for("exchanges.exchange", exchange_id=exchange_id))
        else:
            db.commit()
            flash("Thank you for your feedback.", "success")
            return redirect(url_for("exchanges.exchange", exchange_id=exchange_id))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    status = 400 if errors else 200
    return render_template(
        "exchanges/feedback.html", view=view, form=form, errors=errors, values=values
    ), status


@bp.route("/reflections", methods=["GET", "POST"])
@roles_required("leader")
def reflections():
    """The log, newest first, and a form to add an entry."""
    return _reflection_form(None)


@bp.route("/reflections/<int:reflection_id>", methods=["GET", "POST"])
@roles_required("leader")
def edit_reflection(reflection_id: int):
    return _reflection_form(reflection_id)


def _reflection_form(reflection_id: int | None):
    db = get_session()
    me = _me()
    try:
        editing = (reflection_log.get_reflection(db, me, reflection_id)
                   if reflection_id is not None else None)
    except NotFound:
        abort(404)
    form = CsrfForm()
    errors: dict[str, str] = {}
    text = request.form.get("text", editing.text if editing else "")
    exchange_value = request.form.get(
        "exchange_id", str(editing.exchange_id or "") if editing else "")
    if _form_ok(form):
        exchange_id = row_id(exchange_value)
        if exchange_value and exchange_id is None:
            abort(404)
        try:
            if editing is None:
                reflection_log.add_reflection(db, me, text, exchange_id, utcnow())
            else:
                reflection_log.edit_reflection(db, me, editing.id, text, exchange_id)
        except NotFound:
            abort(404)
        except LeaderError as error:
            errors = error.errors
        else:
            db.commit()
            flash("Your reflection is saved. Only you can see it.", "success")
            return redirect(url_for("exchanges.reflections"))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    status = 400 if errors else 200
    return render_template(
        "exchanges/reflection_edit.html" if editing else "exchanges/reflections.html",
        form=form,
        errors=errors,
        text=text,
        exchange_value=exchange_value,
        editing=editing,
        entries=[] if editing else reflection_log.reflection_log(db, me),
        pdf_offered=current_app.extensions["mentoring.settings"].pdf_font is not None,
        exchanges=services.my_exchanges(db, me),
    ), status


@bp.route("/reflections/<int:reflection_id>/delete", methods=["POST"])
@roles_required("leader")
def delete_reflection(reflection_id: int):
    db = get_session()
    if not _form_ok(CsrfForm()):
        return redirect(url_for("exchanges.edit_reflection", reflection_id=reflection_id))
    try:
        reflection_log.delete_reflection(db, _me(), reflection_id)
    except NotFound:
        abort(404)
    db.commit()
    flash("Your reflection is deleted.", "success")
    return redirect(url_for("exchanges.reflections"))


def _base_url() -> str:
    return current_app.extensions["mentoring.settings"].base_url


@bp.route("/reflections/export.md")
@roles_required("leader")
def export_reflections():
    text = reflection_log.log_as_markdown(get_session(), _me(), utcnow(), _base_url())
    return Response(
        text,
        mimetype="text/markdown",
        headers={"Content-Disposition": 'attachment; filename="reflection-log.md"'},
    )


@bp.route("/reflections/export.pdf")
@roles_required("leader")
def export_reflections_pdf():
    font = current_app.extensions["mentoring.settings"].pdf_font
    if font is None:  # no font with the letters needed: the page does not offer a PDF
        abort(404)
    document = reflection_log.log_as_pdf(get_session(), _me(), utcnow(), _base_url(), font)
    return Response(document, mimetype="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="reflection-log.pdf"'})


@bp.route("/reflections/export.docx")
@roles_required("leader")
def export_reflections_word():
    document = reflection_log.log_as_word(get_session(), _me(), utcnow(), _base_url())
    return Response(
        document,
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={"Content-Disposition": 'attachment; filename="reflection-log.docx"'},
    )
