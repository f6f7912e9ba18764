"""Admin pages: users, roles, deactivation, sessions, invitations, the audit log, and what each
organisation needs before a visit. Thin views over `mentoring.admin.services` and
`mentoring.admin.organisations`."""

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

from mentoring.access import recent_sign_in_required, roles_required
from mentoring.admin import organisations as orgs
from mentoring.admin import services
from mentoring.admin.services import AdminError, NotFound
from mentoring.auth import joining, second_factor
from mentoring.auth.services import AccountError
from mentoring.db import get_session
from mentoring.forms import CsrfForm, row_id
from mentoring.models import Invitation, utcnow
from mentoring.view_helpers import client_ip, require_csrf
from mentoring.vocab import ACCESS_ROUTE_HINTS, ACCESS_ROUTES, HOST_CHECKS, Role

bp = Blueprint("admin", __name__, url_prefix="/admin")
EXPIRED = {"": "Your form expired. Try again."}
ROLE_ITEMS = [(Role.LEADER, "Leader"), (Role.COORDINATOR, "Coordinator"), (Role.ADMIN, "Admin")]


@bp.app_template_filter("utc")
def utc(moment) -> str:
    return services.utc_text(moment) if moment else ""


def _me():
    return current_user._get_current_object()


def _user(user_id: int):
    try:
        return services.get_user(get_session(), user_id)
    except NotFound:
        abort(404)


def _int_arg(name: str) -> int | None:
    return row_id(request.args.get(name))


def _page_links(page: int, pages: int, args: dict[str, str]) -> list[dict]:
    """Numbered links for the NHS.UK pagination: the first, the last and those near this one."""
    shown = sorted({1, pages, page - 1, page, page + 1} & set(range(1, pages + 1)))
    items: list[dict] = []
    for number in shown:
        if items and number - items[-1]["number"] > 1:
            items.append({"ellipsis": True, "number": number - 1})
        items.append({"number": number, "current": number == page,
                      "href": url_for("admin.users", **args, page=number)})
    return items


# --- users -----------------------------------------------------------------------------------


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    filters = services.UserFilters.from_args(request.args)
    result = services.find_users(get_session(), filters, _int_arg("page") or 1)
    args = filters.as_args()
    return render_template(
        "admin/users.html", filters=filters, result=result, roles=ROLE_ITEMS,
        page_links=_page_links(result.page, result.pages, args) if result.pages > 1 else [],
        previous_url=url_for("admin.users", **args, page=result.page - 1)
        if result.page > 1 else None,
        next_url=url_for("admin.users", **args, page=result.page + 1)
        if result.page < result.pages else None,
    )


@bp.route("/users/<int:user_id>")
@roles_required(Role.ADMIN)
def user(user_id: int):
    db = get_session()
    account = _user(user_id)
    return render_template(
        "admin/user.html", account=account, name=services.leader_name(db, account),
        events=services.recent_events(db, account), is_me=account.id == current_user.id,
        has_second_factor=second_factor.has_second_factor(db, account),
    )


def _decision(user_id: int, *, action, template_args: dict, done: str):
    """A page with one form that takes a reason and carries out one decision about a user."""
    db = get_session()
    account = _user(user_id)
    form = CsrfForm()
    errors: dict[str, str] = {}
    values = {"reason": request.form.get("reason", ""), "role": request.form.get("role", "")}
    if request.method == "POST" and form.validate_on_submit():
        try:
            action(db, _me(), account, values)
        except AdminError as error:
            errors = error.errors
        else:
            db.commit()
            flash(done.format(email=account.email), "success")
            return redirect(url_for("admin.user", user_id=account.id))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    return render_template(
        "admin/decision.html", account=account, errors=errors, values=values,
        is_me=account.id == current_user.id, **template_args,
    ), (400 if errors else 200)


@bp.route("/users/<int:user_id>/role", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@recent_sign_in_required
def change_role(user_id: int):
    return _decision(
        user_id,
        action=lambda db, me, account, values: services.change_role(
            db, me, account, values["role"], values["reason"], ip=client_ip()),
        template_args={"title": "Change role", "button_text": "Change role", "roles": ROLE_ITEMS,
                       "intro": "They are signed out everywhere and sign in again with the new "
                                "role."},
        done="{email} has a new role and has been signed out everywhere.",
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@recent_sign_in_required
def deactivate(user_id: int):
    return _decision(
        user_id,
        action=lambda db, me, account, values: services.deactivate(
            db, me, account, values["reason"], ip=client_ip()),
        template_args={"title": "Deactivate account", "button_text": "Deactivate account",
                       "warning": True,
                       "intro": "They are signed out everywhere at once and cannot sign in "
                                "until an admin reactivates the account. Their data is kept."},
        done="{email} is deactivated and has been signed out everywhere.",
    )


@bp.route("/users/<int:user_id>/reactivate", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@recent_sign_in_required
def reactivate(user_id: int):
    return _decision(
        user_id,
        action=lambda db, me, account, values: services.reactivate(
            db, me, account, values["reason"], ip=client_ip()),
        template_args={"title": "Reactivate account", "button_text": "Reactivate account",
                       "intro": "They can sign in again with their password."},
        done="{email} is active again.",
    )


@bp.route("/users/<int:user_id>/sign-out", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def end_sessions(user_id: int):
    return _decision(
        user_id,
        action=lambda db, me, account, values: services.end_sessions(
            db, me, account, values["reason"], ip=client_ip()),
        template_args={"title": "Sign out everywhere", "button_text": "Sign them out everywhere",
                       "intro": "Every session they have open, on any device, ends now. They "
                                "can sign in again."},
        done="{email} has been signed out everywhere.",
    )


@bp.route("/users/<int:user_id>/second-factor/reset", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@recent_sign_in_required
def reset_second_factor(user_id: int):
    return _decision(
        user_id,
        action=lambda db, me, account, values: services.reset_second_factor(
            db, me, account, values["reason"], ip=client_ip()),
        template_args={"title": "Reset second factor", "button_text": "Reset second factor",
                       "warning": True,
                       "intro": "For someone who lost their phone and their recovery codes. "
                                "Their authenticator app and recovery codes stop working, they "
                                "are signed out everywhere and emailed. A coordinator or admin "
                                "sets up a new app at their next sign-in. Check it is really "
                                "them asking (call them) before you do this."},
        done="{email}'s second factor is reset and they have been signed out everywhere.",
    )


# --- inviting coordinators and admins ---------------------------------------------------------


@bp.route("/invite", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@recent_sign_in_required
def invite():
    db = get_session()
    form = CsrfForm()
    errors: dict[str, str] = {}
    email = request.form.get("email", "").strip()
    role = request.form.get("role", "")
    if request.method == "POST" and form.validate_on_submit():
        settings = current_app.extensions["mentoring.settings"]
        links = joining.Links(secret=settings.secret_key, base_url=settings.base_url)
        try:
            services.invite_staff(db, links, _me(), email, role, ip=client_ip())
        except AdminError as error:
            errors = error.errors
        else:
            db.commit()
            flash(f"We have emailed an invitation to {email.lower()}. It works for 30 days.",
                  "success")
            return redirect(url_for("admin.invite"))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    return render_template(
        "admin/invite.html", errors=errors, email=email, role=role,
        waiting=services.staff_invitations(db),
    ), (400 if errors else 200)


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def revoke_invitation(invitation_id: int):
    db = get_session()
    invitation = db.get(Invitation, invitation_id)
    if invitation is None:
        abort(404)
    require_csrf()
    try:
        joining.revoke_invitation(db, invitation, actor=_me(), ip=client_ip())
    except AccountError as error:
        flash(str(error), "info")
    else:
        db.commit()
        flash(f"The invitation to {invitation.email} is withdrawn: its link no longer works.",
              "success")
    if invitation.round_id is not None:
        return redirect(url_for("rounds.participants_page", round_id=invitation.round_id))
    return redirect(url_for("admin.invite"))


# --- the audit log ---------------------------------------------------------------------------


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit_log():
    query = services.parse_audit_filters(request.args)
    if query.errors:
        return _audit_page(query, services.AuditPage([], None, None)), 400
    page = services.audit_page(
        get_session(), query.filters, before=_int_arg("before"), after=_int_arg("after")
    )
    return _audit_page(query, page)


def _audit_page(query: services.AuditQuery, page: services.AuditPage) -> str:
    args = query.filters.as_args()
    return render_template(
        "admin/audit.html", query=query, page=page, errors=query.errors,
        filtered=bool(args), csv_url=url_for("admin.audit_csv", **args),
        newer_url=url_for("admin.audit_log", **args, after=page.newer) if page.newer else None,
        older_url=url_for("admin.audit_log", **args, before=page.older) if page.older else None,
    )


@bp.route("/audit.csv")
@roles_required(Role.ADMIN)
@recent_sign_in_required  # emails and addresses leave the service
def audit_csv():
    query = services.parse_audit_filters(request.args)
    if query.errors:
        return _audit_page(query, services.AuditPage([], None, None)), 400
    db = get_session()
    text = services.export_audit_log(db, _me(), query.filters, ip=client_ip())
    db.commit()
    stamp = utcnow().strftime("%Y-%m-%d-%H%M")
    return Response(
        text, mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}-utc.csv"'},
    )


# --- organisations: what each needs before an outside leader observes there ------------------


@bp.route("/organisations")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def organisations():
    return render_template("admin/organisations.html",
                           organisations=orgs.all_organisations(get_session()),
                           routes=ACCESS_ROUTES, checks=HOST_CHECKS)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@roles_required(Role.COORDINATOR, Role.ADMIN)
def organisation(organisation_id: int):
    db = get_session()
    try:
        found = orgs.get_organisation(db, organisation_id)
    except NotFound:
        abort(404)
    form = CsrfForm()
    errors: dict[str, str] = {}
    values = orgs.VisitNeedsForm.from_organisation(found)
    if request.method == "POST" and form.validate_on_submit():
        values = orgs.VisitNeedsForm.from_form(
            request.form.get("access_route", ""), request.form.get("notice_weeks", ""),
            request.form.getlist("host_checks"))
        try:
            changed = orgs.update_visit_needs(db, _me(), found, values, utcnow(), ip=client_ip())
        except AdminError as error:
            errors = error.errors
        else:
            db.commit()
            flash(f"Saved what {found.name} needs before a visit."
                  + (f" {changed} checklist{'s' if changed != 1 else ''} of visits to come "
                     "updated." if changed else ""), "success")
            return redirect(url_for("admin.organisations"))
    elif request.method == "POST":
        errors = dict(EXPIRED)
    return render_template(
        "admin/organisation.html", organisation=found, values=values, errors=errors,
        routes=ACCESS_ROUTES, route_hints=ACCESS_ROUTE_HINTS, checks=HOST_CHECKS,
    ), (400 if errors else 200)
