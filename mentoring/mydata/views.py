"""Your data: download it, leave a round, delete your account. Thin views."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from mentoring import audit, logs
from mentoring.access import roles_required
from mentoring.db import get_session
from mentoring.exchanges.services import LeaderError, NotFound, profile_of
from mentoring.forms import CsrfForm
from mentoring.models import utcnow
from mentoring.mydata import services
from mentoring.view_helpers import client_ip
from mentoring.vocab import ParticipantStatus

bp = Blueprint("mydata", __name__, url_prefix="/my-data")
EXPIRED = {"": "Your form expired. Try again."}


@bp.route("/")
@roles_required("leader")
def index():
    db = get_session()
    profile = profile_of(db, current_user)
    rounds = services.my_rounds(db, profile) if profile else []
    return render_template("mydata/index.html", rounds=rounds, joined=ParticipantStatus.JOINED)


def _download(text: str, mimetype: str, extension: str) -> Response:
    stamp = utcnow().strftime("%Y-%m-%d")
    return Response(
        text,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="my-leadership-exchange-data-{stamp}'
            f'.{extension}"'
        },
    )


def _exported(kind: str) -> dict:
    """The leader's data, with the export itself recorded (a security event, issue 8)."""
    db = get_session()
    data = services.export_data(db, current_user, utcnow())
    me = current_user._get_current_object()
    audit.record(db, "export.my_data", actor=me, obj=me,
                 detail={"format": kind}, ip=client_ip())
    db.commit()
    return data


@bp.route("/export.json")
@roles_required("leader")
def export_json():
    data = _exported("json")
    return _download(json.dumps(data, indent=2, ensure_ascii=False), "application/json", "json")


@bp.route("/export.csv")
@roles_required("leader")
def export_csv():
    return _download(services.export_csv(_exported("csv")), "text/csv", "csv")


@bp.route("/rounds/<int:round_id>/withdraw", methods=["GET", "POST"])
@roles_required("leader")
def withdraw(round_id: int):
    db = get_session()
    profile = profile_of(db, current_user)
    if profile is None:
        abort(404)
    try:
        participant, programme_round = services.get_participation(db, profile, round_id)
    except NotFound:
        abort(404)
    if participant.status == ParticipantStatus.WITHDRAWN:
        return redirect(url_for("mydata.index"))
    form = CsrfForm()
    errors: dict[str, str] = {}
    reason = request.form.get("reason", "")
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.withdraw(db, profile, current_user, round_id, reason, utcnow())
        except LeaderError as error:
            errors = error.errors
        else:
            db.commit()
            flash(f"You have left {programme_round.name}.", "success")
            return redirect(url_for("mydata.index"))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    return render_template(
        "mydata/withdraw.html", programme_round=programme_round, errors=errors, reason=reason
    ), (400 if errors else 200)


@bp.route("/delete", methods=["GET", "POST"])
@roles_required("leader")
def delete_account():
    form = CsrfForm()
    errors: dict[str, str] = {}
    if request.method == "POST" and form.validate_on_submit():
        db = get_session()
        try:
            services.delete_account(db, current_user, request.form.get("password", ""), utcnow(),
                                    ip=client_ip())
        except LeaderError as error:
            errors = error.errors
            db.commit()  # a wrong password is counted and audited, as at sign-in
            if isinstance(error, services.PasswordThrottled):
                logs.security_event("sign_in.throttled",
                                    "Account deletion refused: too many wrong passwords")
        else:
            db.commit()
            logout_user()
            session.clear()
            flash("Your account and your data have been deleted.", "success")
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    return render_template("mydata/delete.html", errors=errors), (400 if errors else 200)
