"""Coordinator pages for rounds and participants: thin views over the rounds services."""

from __future__ import annotations

import base64
import binascii
import zlib

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from mentoring import calendar_days, jobs
from mentoring.access import recent_sign_in_required, roles_required
from mentoring.auth import joining
from mentoring.auth.joining import Links
from mentoring.auth.services import AccountError
from mentoring.configuration import vocabularies
from mentoring.db import get_session
from mentoring.exchanges.services import LeaderError
from mentoring.filters import format_date
from mentoring.forms import CsrfForm, row_id
from mentoring.matching.changes import exchanges_on_closed_days
from mentoring.models import BackgroundJob, Invitation, ProgrammeRound, utcnow
from mentoring.offers.services import stage_counts
from mentoring.profile import services as profile_services
from mentoring.rounds import (
    blackouts,
    exports,
    import_jobs,
    imports,
    participants,
    people,
    services,
)
from mentoring.rounds import waiting as waiting_lists
from mentoring.rounds.participants import ParticipantError
from mentoring.rounds.services import RoundError
from mentoring.slots import LONDON
from mentoring.view_helpers import client_ip, require_csrf, round_or_404
from mentoring.vocab import JobKind, ParticipantStatus, Role, RoundStatus, RunStatus

bp = Blueprint("rounds", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)
EXPIRED = {"": "Your form expired. Try again."}
STATUS_COLOURS = {
    RoundStatus.DRAFT: "grey", RoundStatus.OPEN: "green", RoundStatus.MATCHING: "blue",
    RoundStatus.PUBLISHED: "purple", RoundStatus.CLOSED: "orange", RoundStatus.ARCHIVED: "white",
    ParticipantStatus.JOINED: "green", ParticipantStatus.WITHDRAWN: "orange",
    ParticipantStatus.INVITED: "blue",
}


@bp.app_template_filter("status_colour")
def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "grey")


def _links() -> Links:
    settings = current_app.extensions["mentoring.settings"]
    return Links(secret=settings.secret_key, base_url=settings.base_url)


def _posted(form: CsrfForm) -> bool:
    return request.method == "POST" and form.validate_on_submit()


# --- rounds --------------------------------------------------------------------------------


@bp.route("/rounds")
@roles_required(*COORDINATORS)
def index():
    return render_template("rounds/index.html", rows=services.list_rounds(get_session()))


def _round_form_page(programme_round: ProgrammeRound | None):
    """The new-round and edit-round form: "Preview the effect" re-renders it with a summary of
    the weights; "Save" validates everything and saves."""
    db = get_session()
    form = CsrfForm()
    editable = programme_round is None or services.rules_editable(programme_round)
    errors: dict[str, str] = {}
    preview: list[str] = []
    if request.method == "POST":
        values = services.read_round_form(request.form, request.form.getlist)
        if programme_round is not None and not editable:
            # Only the name and description are on the form; the rules stay as they are.
            values = services.form_from_round(programme_round) | {
                key: values[key] for key in services.TEXT_FIELDS
            }
    else:
        values = (services.form_from_round(programme_round) if programme_round
                  else services.blank_form())
    if request.method == "POST" and not form.validate_on_submit():
        errors = dict(EXPIRED)
    elif request.method == "POST" and request.form.get("action") == "preview":
        weights, errors = services.parse_weights(values["weights"])
        if not errors:
            preview = services.weights_summary(weights)
    elif request.method == "POST":
        try:
            data = services.validate_round(values)
            if programme_round is None:
                programme_round = services.create_round(db, data, current_user, ip=client_ip())
                message = f"The round '{programme_round.name}' is created as a draft."
            else:
                result = services.update_round(db, programme_round, data, current_user,
                                               ip=client_ip())
                message = "Your changes are saved." if result.changed else "Nothing changed."
                if result.removed_availability:
                    message += (f" {result.removed_availability} free half-days outside the "
                                "new window were removed.")
        except RoundError as error:
            errors = error.errors
        else:
            db.commit()
            flash(message, "success")
            return redirect(url_for("rounds.overview", round_id=programme_round.id))
    if not preview and editable:
        weights, weight_errors = services.parse_weights(values["weights"])
        preview = [] if weight_errors else services.weights_summary(weights)
    return render_template(
        "rounds/form.html", programme_round=programme_round, values=values, errors=errors,
        editable=editable, preview=preview, weights=services.WEIGHTS,
        professions=_priority_choices(values.get("priority_professions") or []),
        previewed=request.form.get("action") == "preview" and not errors,
    ), (400 if errors else 200)


def _offered(kind: str) -> dict[str, str]:
    return vocabularies.of(get_session()).offered(kind)


def _priority_choices(chosen: list[str]) -> dict[str, str]:
    """Professions a round can prioritise: those offered, and any retired one it already has."""
    words = vocabularies.of(get_session())
    return {key: text for key, text in words.professions.items()
            if key in words.offered("profession") or key in chosen}


@bp.route("/rounds/new", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def new():
    return _round_form_page(None)


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def edit(round_id: int):
    return _round_form_page(round_or_404(round_id))


@bp.route("/rounds/<int:round_id>")
@roles_required(*COORDINATORS)
def overview(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    return render_template(
        "rounds/overview.html",
        programme_round=programme_round,
        closed=_closed_summary(db, programme_round),
        counts=participants.counts(db, programme_round),
        stages=stage_counts(db, programme_round.id),
        transitions=services.available_transitions(programme_round),
        weights=services.WEIGHTS,
        weights_summary=services.weights_summary(programme_round.weights or {}),
        professions=vocabularies.of(db).professions,
        form=CsrfForm(),
    )


@bp.route("/rounds/<int:round_id>/status", methods=["POST"])
@roles_required(*COORDINATORS)
def change_status(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    require_csrf()
    try:
        new_status = services.change_status(db, programme_round, request.form.get("action", ""),
                                            current_user, ip=client_ip())
    except RoundError as error:
        flash(error.errors[""], "info")
    else:
        db.commit()
        flash(f"The round is now {new_status}.", "success")
    return redirect(url_for("rounds.overview", round_id=round_id))


# --- closed days: bank holidays and blackout dates -----------------------------------------


def _closed_summary(db, programme_round: ProgrammeRound) -> dict:
    """What the overview and the blackouts page say about the window's closed days."""
    closed = calendar_days.closed_days(db, programme_round)
    return {
        "region": calendar_days.region_name(),
        # Only weekdays matter: exchanges never take place at weekends.
        "bank_holidays": [day for day in closed.values()
                          if day.bank_holiday and day.day.weekday() < 5],
        "blackouts": calendar_days.blackouts(db, programme_round.id),
        "exchanges": len(exchanges_on_closed_days(db, programme_round, utcnow())),
    }


def _blackouts_page(programme_round: ProgrammeRound, values: dict, errors: dict):
    return render_template(
        "rounds/blackouts.html", programme_round=programme_round, values=values, errors=errors,
        closed=_closed_summary(get_session(), programme_round), form=CsrfForm(),
    ), (400 if errors else 200)


@bp.route("/rounds/<int:round_id>/blackouts", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def blackouts_page(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    if request.method == "GET":
        return _blackouts_page(programme_round, blackouts.blank_form(), {})
    values = blackouts.read_form(request.form)
    if not CsrfForm().validate_on_submit():
        return _blackouts_page(programme_round, values, dict(EXPIRED))
    try:
        blackout = blackouts.add_blackout(db, programme_round, values, current_user, ip=client_ip())
    except RoundError as error:
        return _blackouts_page(programme_round, values, error.errors)
    db.commit()
    dates = (format_date(blackout.starts_on) if blackout.starts_on == blackout.ends_on
             else f"{format_date(blackout.starts_on)} to {format_date(blackout.ends_on)}")
    message = f"Closed {dates}: {blackout.reason}."
    affected = len(exchanges_on_closed_days(db, programme_round, utcnow()))
    if affected:
        message += (f" {affected} exchange{' is' if affected == 1 else 's are'} on closed "
                    "days: see the changes since approval.")
    flash(message, "success")
    return redirect(url_for("rounds.blackouts_page", round_id=round_id))


@bp.route("/rounds/<int:round_id>/blackouts/remove", methods=["POST"])
@roles_required(*COORDINATORS)
def remove_blackout(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    if not CsrfForm().validate_on_submit():
        return _blackouts_page(programme_round, blackouts.blank_form(), dict(EXPIRED))
    try:
        blackout = blackouts.remove_blackout(db, programme_round,
                                             row_id(request.form.get("blackout_id")),
                                             current_user, ip=client_ip())
    except RoundError as error:
        return _blackouts_page(programme_round, blackouts.blank_form(), error.errors)
    db.commit()
    flash(f"'{blackout.reason}' removed: those days can be offered again (bank holidays stay "
          "closed).", "success")
    return redirect(url_for("rounds.blackouts_page", round_id=round_id))


# --- participants --------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/participants")
@roles_required(*COORDINATORS)
def participants_page(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    rows = participants.participant_rows(db, programme_round)
    search = participants.ParticipantSearch.from_query(request.args)
    return render_template(
        "rounds/participants.html",
        programme_round=programme_round,
        rows=search.apply(rows),
        everyone=len(rows),
        search=search,
        invitations=participants.pending_invitations(db, programme_round),
        takes_participants=programme_round.status in participants.TAKES_PARTICIPANTS,
    )


def _person_page(programme_round: ProgrammeRound, leader_id: int) -> people.PersonPage:
    """A participant of this round (404 for anyone else, a leader of another round included)."""
    page = people.person_page(get_session(), programme_round, leader_id)
    if page is None:
        abort(404)
    return page


@bp.route("/rounds/<int:round_id>/participants/<int:leader_id>", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def person(round_id: int, leader_id: int):
    """One participant: their history in the round, and coordinators' private notes."""
    db = get_session()
    programme_round = round_or_404(round_id)
    page = _person_page(programme_round, leader_id)
    errors: dict[str, str] = {}
    note = request.form.get("text", "")
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            errors = dict(EXPIRED)
        else:
            try:
                people.add_note(db, programme_round, page.profile, current_user, note,
                                utcnow(), ip=client_ip())
            except people.NoteError as error:
                errors = error.errors
            else:
                db.commit()
                flash("Your note is saved. Only coordinators can see it here; the leader sees "
                      "it if they download their data.", "success")
                return redirect(url_for("rounds.person", round_id=round_id,
                                        leader_id=leader_id) + "#notes")
    return render_template(
        "rounds/person.html", programme_round=programme_round, page=page, errors=errors,
        note=note, status_colours=STATUS_COLOURS,
    ), 400 if errors else 200


@bp.route("/rounds/<int:round_id>/participants/<int:leader_id>/withdraw",
          methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def withdraw_person(round_id: int, leader_id: int):
    """Withdraw a participant on their behalf (they asked, or cannot be reached)."""
    db = get_session()
    programme_round = round_or_404(round_id)
    page = _person_page(programme_round, leader_id)
    back = url_for("rounds.person", round_id=round_id, leader_id=leader_id)
    if page.participant.status == ParticipantStatus.WITHDRAWN:
        flash(f"{page.profile.name} has already left this round.", "info")
        return redirect(back)
    errors: dict[str, str] = {}
    reason = request.form.get("reason", "")
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            errors = dict(EXPIRED)
        else:
            try:
                people.withdraw_on_behalf(db, programme_round, page, current_user, reason,
                                          utcnow(), ip=client_ip())
            except LeaderError as error:
                db.rollback()
                errors = error.errors
            else:
                db.commit()
                flash(f"{page.profile.name} is withdrawn from {programme_round.name}. We have "
                      "emailed them, and their partners if they had matches.", "success")
                return redirect(back)
    return render_template(
        "rounds/person_withdraw.html", programme_round=programme_round, page=page,
        errors=errors, reason=reason,
    ), 400 if errors else 200


@bp.route("/rounds/<int:round_id>/participants/<int:leader_id>/profile",
          methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def edit_person(round_id: int, leader_id: int):
    """Correct a participant's profile on their behalf, with the reason (audited)."""
    db = get_session()
    programme_round = round_or_404(round_id)
    page = _person_page(programme_round, leader_id)
    errors: dict[str, str] = {}
    values = profile_services.on_behalf_values(page.profile)
    reason = request.form.get("reason", "")
    if request.method == "POST":
        if not CsrfForm().validate_on_submit():
            errors = dict(EXPIRED)
        else:
            errors, changed = profile_services.edit_on_behalf(
                db, page.profile, request.form, request.form.getlist, current_user, reason,
                round_id=round_id, ip=client_ip())
            if not errors:
                db.commit()
                flash(f"{page.profile.name}'s profile is updated"
                      + (f" ({len(changed)} answer{'s' if len(changed) != 1 else ''} changed)."
                         if changed else ": nothing was different."), "success")
                return redirect(url_for("rounds.person", round_id=round_id,
                                        leader_id=leader_id))
            db.rollback()
            values = {**values, **{key: request.form.get(key) for key in request.form}}
    words = vocabularies.of(db)
    kept = profile_services.kept_terms(page.profile)
    return render_template(
        "rounds/person_edit.html", programme_round=programme_round, page=page, errors=errors,
        values=values, reason=reason,
        professions=profile_services.choices(words, "profession", kept),
        sectors=profile_services.choices(words, "sector", kept),
        boroughs=profile_services.choices(words, "place", kept),
        organisations=profile_services.organisations(db),
    ), 400 if errors else 200


PERSON_FIELDS = ("email", "name", "profession", "organisation", "borough")
ADDED_MESSAGES = {
    "invited": "We have emailed an invitation to {email}.",
    "updated": "{email} was invited before: we updated their details and sent nothing new.",
    "added": "{email} already had a profile: they are now taking part, and we have told them.",
}


@bp.route("/rounds/<int:round_id>/participants/invite", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def invite(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    form = CsrfForm()
    errors: dict[str, str] = {}
    values = {key: (request.form.get(key) or "").strip() for key in PERSON_FIELDS}
    if _posted(form):
        try:
            kind, email = participants.add_one(db, _links(), programme_round, values,
                                               current_user, ip=client_ip())
        except ParticipantError as error:
            errors = error.errors
        else:
            db.commit()
            if kind.startswith("already:"):
                flash(f"{email} is already in this round ({kind.split(':', 1)[1]}).", "info")
            else:
                flash(ADDED_MESSAGES[kind].format(email=email), "success")
            return redirect(url_for("rounds.participants_page", round_id=round_id))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    return render_template(
        "rounds/invite.html", programme_round=programme_round, values=values, errors=errors,
        professions=_offered("profession"), boroughs=_offered("place"),
    ), (400 if errors else 200)


@bp.route("/rounds/<int:round_id>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles_required(*COORDINATORS)
def revoke_invitation(round_id: int, invitation_id: int):
    db = get_session()
    round_or_404(round_id)
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.round_id != round_id:
        abort(404)
    require_csrf()
    try:
        joining.revoke_invitation(db, invitation, actor=current_user._get_current_object(),
                                  ip=client_ip())
    except AccountError as error:
        flash(str(error), "info")
    else:
        db.commit()
        flash(f"The invitation to {invitation.email} is withdrawn: its link no longer works.",
              "success")
    return redirect(url_for("rounds.participants_page", round_id=round_id))


# The confirm step carries the file back (compressed, so a 5,000-line file stays well inside
# the form-field limit); it is parsed and checked again, so nothing from the client is trusted.
def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def _unpack(packed: str) -> bytes | None:
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(packed, validate=True),
                                   imports.MAX_BYTES + 1)
    except (binascii.Error, zlib.error, ValueError):
        return None
    return data if inflater.eof else None  # unfinished: larger than any upload we accept


# Enough to see that the columns landed where they should; the counts cover the rest.
IMPORT_PREVIEW_ROWS = 100


def _import_page(programme_round: ProgrammeRound, *, parsed=None, errors=None, packed="",
                 filename="", status=200):
    return render_template(
        "rounds/import.html", programme_round=programme_round, parsed=parsed,
        errors=errors or {}, packed=packed, filename=filename, columns=imports.COLUMNS,
        max_rows=imports.MAX_ROWS, professions=_offered("profession"),
        boroughs=_offered("place"), preview_rows=IMPORT_PREVIEW_ROWS,
        career_stages={"experienced": "Experienced", "emerging": "Emerging"},
        mentoring_roles={"mentor": "Mentor", "mentee": "Mentee", "both": "Mentor and mentee"},
    ), status


@bp.route("/rounds/<int:round_id>/participants/import", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def import_csv(round_id: int):
    programme_round = round_or_404(round_id)
    if request.method == "GET":
        return _import_page(programme_round)
    if not CsrfForm().validate_on_submit():
        return _import_page(programme_round, errors=dict(EXPIRED), status=400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(programme_round, errors={"file": "Choose a CSV file to upload"},
                            status=400)
    data = upload.read(imports.MAX_BYTES + 1)
    parsed = imports.parse_participants_csv(data, upload.filename)
    if parsed.file_error:
        return _import_page(programme_round, errors={"file": parsed.file_error},
                            filename=upload.filename, status=400)
    # Nothing is imported yet: the coordinator sees who would be invited (and every bad line)
    # and confirms; a file with a wrong column or separator is caught here, not after emails.
    return _import_page(programme_round, parsed=parsed, packed=_pack(data),
                        filename=upload.filename, status=400 if parsed.problems else 200)


def _uploaded_again():
    """The file carried back by the preview page, parsed and checked again (or None)."""
    filename = request.form.get("filename", "leaders.csv")
    data = _unpack(request.form.get("upload", ""))
    return filename, (imports.parse_participants_csv(data, filename) if data is not None
                      else None)


@bp.route("/rounds/<int:round_id>/participants/import/confirm", methods=["POST"])
@roles_required(*COORDINATORS)
def import_good_rows(round_id: int):
    programme_round = round_or_404(round_id)
    if not CsrfForm().validate_on_submit():
        return _import_page(programme_round, errors=dict(EXPIRED), status=400)
    filename, parsed = _uploaded_again()
    if parsed is None or not parsed.usable:
        return _import_page(programme_round, status=400, errors={
            "file": "We could not read the file again. Upload it once more."})
    return _finish_import(programme_round, parsed, filename)


@bp.route("/rounds/<int:round_id>/participants/import/rejected", methods=["POST"])
@roles_required(*COORDINATORS)
def import_rejected_lines(round_id: int):
    """The bad lines of the file on the preview page, with their reasons, to fix and upload."""
    programme_round = round_or_404(round_id)
    if not CsrfForm().validate_on_submit():
        return _import_page(programme_round, errors=dict(EXPIRED), status=400)
    _, parsed = _uploaded_again()
    if parsed is None or parsed.file_error:
        return _import_page(programme_round, status=400, errors={
            "file": "We could not read the file again. Upload it once more."})
    return Response(imports.rejected_lines_csv(parsed), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="leaders-to-fix.csv"'})


def _finish_import(programme_round: ProgrammeRound, parsed, filename: str):
    db = get_session()
    if len(parsed.people) > import_jobs.IMPORT_IN_REQUEST_UP_TO:
        # Thousands of invitations take longer than a web request may: the worker adds them
        # and the coordinator watches its progress.
        try:
            job = import_jobs.request_import(db, programme_round, parsed.people,
                                             parsed.problems, filename, current_user,
                                             ip=client_ip())
        except jobs.AlreadyRunning as running:
            db.rollback()
            flash("An import into this round is already under way: here is its progress.",
                  "warning")
            return redirect(url_for("rounds.import_job", round_id=programme_round.id,
                                    job_id=running.job_id))
        db.commit()
        return redirect(url_for("rounds.import_job", round_id=programme_round.id,
                                job_id=job.id))
    try:
        outcome = participants.import_people(
            db, _links(), programme_round, parsed.people, current_user,
            skipped=len(parsed.problems), ip=client_ip(),
        )
    except ParticipantError as error:
        return _import_page(programme_round, errors={"file": error.errors[""]}, status=400)
    db.commit()
    return render_template("rounds/import_result.html", programme_round=programme_round,
                           outcome=outcome, skipped=parsed.problems, filename=filename)


def _job(programme_round: ProgrammeRound, job_id: int, kind: JobKind) -> BackgroundJob:
    job = get_session().get(BackgroundJob, job_id)
    if job is None or job.round_id != programme_round.id or job.kind != kind:
        abort(404)
    return job


@bp.route("/rounds/<int:round_id>/participants/import/<int:job_id>")
@roles_required(*COORDINATORS)
def import_job(round_id: int, job_id: int):
    """The import's progress while the worker adds the people; then the same result page as a
    small import shows at once."""
    programme_round = round_or_404(round_id)
    job = _job(programme_round, job_id, JobKind.IMPORT)
    if job.status == RunStatus.SUCCEEDED:
        return render_template("rounds/import_result.html", programme_round=programme_round,
                               outcome=import_jobs.outcome_of(job),
                               skipped=import_jobs.skipped_of(job),
                               filename=job.payload.get("filename", ""))
    return render_template(
        "rounds/job_progress.html", programme_round=programme_round, job=job,
        title="Importing leaders", noun=jobs.NOUNS[job.kind], text=jobs.progress_text(job),
        intro=f"From {job.payload.get('filename', 'your file')}: the invitations are being "
              "sent. You can leave this page and come back; the import carries on.",
        progress_url=url_for("rounds.job_progress", round_id=round_id, job_id=job.id),
        again_url=url_for("rounds.import_csv", round_id=round_id),
        again_text="Upload the file again")


@bp.route("/rounds/<int:round_id>/jobs/<int:job_id>/progress")
@roles_required(*COORDINATORS)
def job_progress(round_id: int, job_id: int):
    """What the progress pages poll."""
    job = get_session().get(BackgroundJob, job_id)
    if job is None or job.round_id != round_or_404(round_id).id:
        abort(404)
    return jsonify(status=job.status, stage=job.stage, done=job.done, total=job.total,
                   progress=job.progress, text=jobs.progress_text(job))


@bp.route("/rounds/<int:round_id>/participants/template.csv")
@roles_required(*COORDINATORS)
def import_template(round_id: int):
    round_or_404(round_id)
    return Response(
        imports.template_csv(), mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="leaders-template.csv"'},
    )


# --- readiness -----------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>/readiness")
@roles_required(*COORDINATORS)
def readiness(round_id: int):
    programme_round = round_or_404(round_id)
    return render_template(
        "rounds/readiness.html", programme_round=programme_round,
        state=participants.readiness(get_session(), programme_round), form=CsrfForm(),
    )


@bp.route("/rounds/<int:round_id>/readiness/remind", methods=["POST"])
@roles_required(*COORDINATORS)
def send_reminders(round_id: int):
    db = get_session()
    programme_round = round_or_404(round_id)
    require_csrf()
    today = utcnow().astimezone(LONDON).date()
    queued, already = participants.send_reminders(db, _links(), programme_round, current_user,
                                                  today, ip=client_ip())
    db.commit()
    message = f"{queued} reminder{'' if queued == 1 else 's'} queued."
    if already:
        message += (f" {already} {'person was' if already == 1 else 'people were'} already "
                    "reminded today and will not get another.")
    flash(message, "success" if queued else "info")
    return redirect(url_for("rounds.readiness", round_id=round_id))


@bp.route("/rounds/<int:round_id>/waiting-list")
@roles_required(*COORDINATORS)
def waiting_list(round_id: int):
    """Mentees without a mentor and mentors with room for more, with the reasons."""
    programme_round = round_or_404(round_id)
    waiting = waiting_lists.waiting_list(get_session(), programme_round)
    return render_template(
        "rounds/waiting_list.html", programme_round=programme_round,
        mentees=[w for w in waiting if w.role == "mentee"],
        mentors=[w for w in waiting if w.role == "mentor"],
    )


# --- exports -------------------------------------------------------------------------------

EXPORTS = {
    "participants": exports.participants_csv,
    "matches": exports.matches_csv,
    "exchanges": exports.exchanges_csv,
    "waiting-list": waiting_lists.waiting_list_csv,
}


def _export(round_id: int, what: str):
    db = get_session()
    csv_file = EXPORTS[what](db, round_or_404(round_id), current_user, ip=client_ip())
    db.commit()  # the audit event
    return Response(
        csv_file.text.encode("utf-8"), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{csv_file.filename}"'},
    )


@bp.route("/rounds/<int:round_id>/export/participants.csv")
@roles_required(*COORDINATORS)
@recent_sign_in_required  # personal data leaves the service: password and second factor
def export_participants(round_id: int):
    return _export(round_id, "participants")


@bp.route("/rounds/<int:round_id>/export/waiting-list.csv")
@roles_required(*COORDINATORS)
def export_waiting_list(round_id: int):
    return _export(round_id, "waiting-list")


@bp.route("/rounds/<int:round_id>/export/matches.csv")
@roles_required(*COORDINATORS)
@recent_sign_in_required  # personal data leaves the service: password and second factor
def export_matches(round_id: int):
    return _export(round_id, "matches")


@bp.route("/rounds/<int:round_id>/export/exchanges.csv")
@roles_required(*COORDINATORS)
@recent_sign_in_required  # personal data leaves the service: password and second factor
def export_exchanges(round_id: int):
    return _export(round_id, "exchanges")
