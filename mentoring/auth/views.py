"""Sign in and out, registration, verification, password reset, sign-in links, invitations, and
the signed-in user's account (password change, signing out everywhere)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from pydantic import ValidationError

from mentoring import audit, logs
from mentoring.access import (
    is_safe_redirect,
    mark_second_factor,
    mark_signed_in,
    password_confirmed_recently,
    recent_sign_in_required,
    roles_required,
)
from mentoring.auth import (
    email_links,
    joining,
    oidc,
    second_factor,
    services,
    session_store,
    sessions,
)
from mentoring.auth.throttle import Throttled
from mentoring.db import get_session
from mentoring.forms import CsrfForm, field_errors
from mentoring.models import utcnow
from mentoring.view_helpers import client_ip, require_csrf
from mentoring.vocab import Role

bp = Blueprint("auth", __name__)


def _links() -> joining.Links:
    settings = current_app.extensions["mentoring.settings"]
    return joining.Links(secret=settings.secret_key, base_url=settings.base_url)


def _start_session(user, next_url: str | None = None, *, method: str = "password",
                   second_factor: bool = False):
    """Every way of signing in ends here: `method` names how the user proved who they are
    (password, email link, invitation, an identity provider) and `second_factor` whether that
    proof already included a second factor (an identity provider that asserts MFA). Without
    one, those who need a second factor are asked for it (or to set one up) first."""
    from mentoring.auth import second_factor_views

    # A fresh session on sign-in (no fixation), keeping only the messages waiting to be shown:
    # confirming an email address signs in and says so on the page it lands on.
    flashes = session.get("_flashes", [])
    session.clear()
    if flashes:
        session["_flashes"] = flashes
    if not second_factor:
        asked = second_factor_views.ask_for_second_factor(user, next_url, method)
        if asked is not None:
            return asked
    return _finish_sign_in(user, next_url, method=method, second_factor=second_factor)


def _finish_sign_in(user, next_url: str | None, *, method: str, second_factor: bool):
    login_user(user)
    mark_signed_in()
    if second_factor:
        mark_second_factor()
    sessions.renew()  # a new session id: one known before signing in is worth nothing after
    session["sign_in_method"] = method
    # The next page's forms need a CSRF token: made now, it is stored with the new session
    # rather than written to it again by the first page.
    g.pop("csrf_token", None)
    generate_csrf()
    return redirect(next_url if is_safe_redirect(next_url) else url_for("main.home"))


def _posted(form: CsrfForm) -> bool:
    if request.method != "POST":
        return False
    if not form.validate_on_submit():
        abort(400)
    return True


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = CsrfForm()
    errors: dict[str, str] = {}
    email = request.form.get("email", "").strip()
    if request.method == "POST" and form.validate_on_submit():
        password = request.form.get("password", "")
        if not email:
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 (a message)
        if not errors:
            db = get_session()
            try:
                user = services.authenticate(db, email, password, ip=client_ip())
            except Throttled as exc:
                user = None
                errors["email"] = f"{exc} You can also ask for a sign-in link by email."
                logs.security_event("sign_in.throttled", "Sign-in refused: too many failures")
            db.commit()
            if user is not None:
                return _start_session(user, request.args.get("next"))
            errors.setdefault("email", "Your email address or password is not right")
    elif request.method == "POST":
        errors[""] = "Your form expired. Try again."
    status = 400 if request.method == "POST" and errors else 200
    return render_template("auth/sign_in.html", form=form, errors=errors, email=email), status


@bp.route("/sign-in/confirm", methods=["GET", "POST"])
@login_required
def confirm_sign_in():
    """Confirm your password, then your second factor if you have one (a code, a recovery code
    or a passkey), before a sensitive action (see access.recent_sign_in_required)."""
    form = CsrfForm()
    errors: dict[str, str] = {}
    next_url = request.args.get("next")
    done = next_url if is_safe_redirect(next_url) else url_for("main.home")
    db = get_session()
    user = current_user._get_current_object()
    ask_code = second_factor.has_second_factor(db, user)
    password_done = ask_code and password_confirmed_recently()
    if _posted(form):
        try:
            if not password_done:
                password_done = services.confirm_password(
                    db, user, request.form.get("password", ""), ip=client_ip())
                if password_done:
                    mark_signed_in()  # the password's part; the second factor's is its own
                else:
                    errors["password"] = "Your password is not right"  # noqa: S105
            if password_done and ask_code:
                second_factor.verify(db, user, request.form.get("code", ""), ip=client_ip())
                mark_second_factor()
        except Throttled as exc:
            errors["code" if password_done else "password"] = str(exc)
        except second_factor.SecondFactorError as exc:
            errors["code"] = str(exc)
        db.commit()
        if not errors:
            mark_signed_in()
            return redirect(done)
    status = 400 if errors else 200
    # those who sign in with a provider confirm it is them there (mentoring.auth.oidc_views:
    # its second factor counts when it says it asked for one)
    providers = oidc.linked_providers(
        db, user, current_app.extensions["mentoring.settings"].oidc_providers)
    return render_template(
        "auth/confirm_sign_in.html", form=form, errors=errors, ask_code=ask_code,
        password_done=password_done, next_url=done,
        has_password=user.password_hash is not None, providers=providers,
        has_passkey=bool(ask_code and second_factor.passkeys_of(db, user)),
        # (a provider that did not say it asked for a second factor leaves one to set up)
        must_set_up=not ask_code and second_factor.is_required(user) and (
            not providers or password_confirmed_recently())), status


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    form = CsrfForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


# --- registration ----------------------------------------------------------------------------


def _password_errors(password: str, confirm: str) -> dict[str, str]:
    if not password:
        return {"password": "Enter a password"}
    if password != confirm:
        return {"confirm": "The passwords do not match"}
    return {}


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Only an email address: the account is made when the emailed link is followed (see
    joining.register), so this page answers the same whether or not the address has one."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = CsrfForm()
    errors: dict[str, str] = {}
    email = request.form.get("email", "").strip()
    if _posted(form):
        errors = {"email": "Enter your email address"} if not email else {}
        if not errors:
            db = get_session()
            try:
                joining.register(db, _links(), email, ip=client_ip())
            except ValidationError as exc:
                errors = field_errors(exc)
            except email_links.TooManyEmails as exc:
                db.commit()  # the refusal is audited
                return _too_many_emails(exc)
            else:
                db.commit()
                return render_template("auth/check_email.html", email=email,
                                       reason="confirm your email address and create your "
                                              "account")
    return render_template("auth/register.html", form=form, errors=errors, email=email), (
        400 if errors else 200
    )


def _too_many_emails(exc: email_links.TooManyEmails):
    logs.security_event("email.throttled", "Too many emails asked for from a public form")
    return render_template("auth/too_many_emails.html", minutes=exc.minutes), 429


def _link_problem(what: str, problem: str):
    # A used link tried again may be someone else's copy of it: worth an alert.
    logs.security_event("link.refused", f"A {what} was refused ({problem or 'unknown'})")
    return render_template("auth/link_invalid.html", what=what, problem=problem), 400


def _password_from_link(what: str, email: str | None, spend, done, *, title: str,
                        button_text: str | None = None):
    """The page of an emailed link where a password is chosen (confirmation, reset): the form
    shows on opening (mail scanners that open links spend nothing); a good POST spends the link
    once through `spend(password)` (None: spent by another request a moment ago) and answers
    with `done(user)`; a bad one shows the form again with the reason beside the field."""
    form = CsrfForm()
    errors: dict[str, str] = {}
    if _posted(form):
        password, confirm = request.form.get("password", ""), request.form.get("confirm", "")
        errors = _password_errors(password, confirm)
        if not errors:
            try:
                user = spend(password)
            except ValidationError as exc:
                errors = field_errors(exc)
            else:
                if user is None:
                    return _link_problem(what, "used")
                get_session().commit()
                return done(user)
    extra = {"button_text": button_text} if button_text else {}
    return render_template("auth/new_password.html", form=form, errors=errors, title=title,
                           email=email, **extra), (400 if errors else 200)


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    """The link in the confirmation email: posting it, once, creates the account (with the
    password chosen there) and signs in."""
    db = get_session()
    found = joining.verification_link(db, token)
    if found.link is None:
        return _link_problem("confirmation link", found.problem)

    def signed_in(user):
        flash("Your email address is confirmed and you are signed in. Next, complete "
              "your profile: it is how we find you a good match.", "success")
        return _start_session(user, url_for("profile.overview"), method="email-link")

    return _password_from_link(
        "confirmation link", found.link.email,
        lambda password: joining.complete_registration(db, token, password, ip=client_ip()),
        signed_in, title="Create your account", button_text="Create account")


# --- password reset --------------------------------------------------------------------------


def _email_request_page(send, *, reason: str, title: str, intro: str, button_text: str):
    """A page that asks for an email address and sends a link to it (never saying whether the
    address has an account)."""
    form = CsrfForm()
    email = request.form.get("email", "").strip()
    errors = {}
    if _posted(form):
        if not email:
            errors["email"] = "Enter your email address"
        else:
            db = get_session()
            try:
                send(db, _links(), email, ip=client_ip())
            except email_links.TooManyEmails as exc:
                db.commit()  # the refusal is audited
                return _too_many_emails(exc)
            db.commit()
            return render_template("auth/check_email.html", email=email, reason=reason)
    return render_template(
        "auth/email_form.html", form=form, errors=errors, email=email, title=title,
        intro=intro, button_text=button_text,
    ), (400 if errors else 200)


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_request():
    return _email_request_page(
        joining.request_password_reset, reason="reset your password",
        title="Reset your password",
        intro="Enter your email address and we will send you a link to choose a new password.",
        button_text="Send the link",
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    db = get_session()
    found, _user = joining.reset_link(db, token)
    if found.link is None:
        return _link_problem("password reset link", found.problem)

    def changed(_user):
        logout_user()
        session.clear()
        flash("Your password is changed. Sign in with your new password.", "success")
        return redirect(url_for("auth.sign_in"))

    return _password_from_link(
        "password reset link", None,
        lambda password: joining.reset_password(db, token, password, ip=client_ip()),
        changed, title="Choose a new password")


# --- one-time sign-in links ------------------------------------------------------------------


@bp.route("/sign-in/link", methods=["GET", "POST"])
def link_request():
    return _email_request_page(
        joining.request_sign_in_link, reason="sign in",
        title="Email me a sign-in link",
        intro="We will email you a link that signs you in. It works once, for 15 minutes.",
        button_text="Email me a link",
    )


@bp.route("/sign-in/link/<token>", methods=["GET", "POST"])
def link_sign_in(token: str):
    # A button, not the GET itself, uses the link: mail scanners that open links spend nothing.
    form = CsrfForm()
    if _posted(form):
        db = get_session()
        user = joining.consume_sign_in_link(db, _links().secret, token, ip=client_ip())
        if user is None:
            return render_template("auth/link_invalid.html", what="sign-in link"), 400
        db.commit()
        return _start_session(user, method="email-link")
    return render_template("auth/link_confirm.html", form=form)


# --- invitations -----------------------------------------------------------------------------


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    db = get_session()
    invitation = joining.invitation_for(db, _links().secret, token)
    if invitation is None or invitation.accepted_at is not None:
        return render_template("auth/link_invalid.html", what="invitation link"), 400
    form = CsrfForm()
    errors: dict[str, str] = {}
    if _posted(form):
        password, confirm = request.form.get("password", ""), request.form.get("confirm", "")
        errors = _password_errors(password, confirm)
        if not errors:
            try:
                user = joining.accept_invitation(db, invitation, password, ip=client_ip())
            except (ValidationError, services.AccountError) as exc:
                errors = field_errors(exc) if isinstance(exc, ValidationError) else {
                    "password": "You already have an account: sign in instead"}
            else:
                db.commit()
                if user.role != Role.LEADER:  # a coordinator or admin an admin invited
                    return _start_session(user, method="invitation")
                response = _start_session(user, url_for("profile.overview"), method="invitation")
                session["profile_draft"] = dict(invitation.prefill)
                return response
    return render_template("auth/new_password.html", form=form, errors=errors,
                           title="Accept your invitation", email=invitation.email), (
        400 if errors else 200
    )


# --- your account ----------------------------------------------------------------------------

EVERYONE = (Role.LEADER, Role.COORDINATOR, Role.ADMIN)


@bp.route("/account")
@roles_required(*EVERYONE)
def account():
    settings = current_app.extensions["mentoring.settings"]
    return render_template("auth/account.html", session_idle_minutes=settings.session_idle_minutes,
                           session_max_hours=settings.session_max_hours,
                           has_second_factor=second_factor.has_second_factor(
                               get_session(), current_user))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*EVERYONE)
@recent_sign_in_required
def change_password():
    form = CsrfForm()
    errors: dict[str, str] = {}
    if _posted(form):
        current = request.form.get("current", "")
        password, confirm = request.form.get("password", ""), request.form.get("confirm", "")
        errors = {"current": "Enter your current password"} if not current else {}
        errors |= _password_errors(password, confirm)
        if not errors:
            db = get_session()
            user = current_user._get_current_object()
            try:
                services.change_password(db, user, current, password, ip=client_ip())
            except Throttled as exc:
                errors = {"current": str(exc)}
            except services.AccountError as exc:
                errors = {"current": str(exc)}
            except ValidationError as exc:
                errors = field_errors(exc)
            db.commit()  # a wrong current password is recorded (throttling, audit) too
            if not errors:
                # Every session has ended, this one included; this browser gets a new one.
                login_user(user)
                mark_signed_in()
                sessions.renew()
                flash("Your password is changed. You have been signed out everywhere else.",
                      "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form, errors=errors), (
        400 if errors else 200
    )


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@roles_required(*EVERYONE)
def sign_out_everywhere():
    require_csrf()
    db = get_session()
    services.sign_out_everywhere(db, current_user._get_current_object(), ip=client_ip())
    db.commit()
    logout_user()
    session.clear()
    flash("You have signed out on every device, including this one.", "success")
    return redirect(url_for("auth.sign_in"))


# --- your sessions ---------------------------------------------------------------------------


@bp.route("/account/sessions")
@roles_required(*EVERYONE)
def your_sessions():
    db = get_session()
    rows = session_store.sessions_of(db, current_user.id, utcnow(),
                                     sessions.limits(current_app._get_current_object()))
    this_one = getattr(session, "row_id", None)
    devices = [{"id": row.id, "device": session_store.describe_device(row.user_agent),
                "signed_in_at": row.created_at, "last_seen_at": row.last_seen_at,
                "ip": row.ip or "Not known", "this_device": row.id == this_one}
               for row in rows]
    devices.sort(key=lambda device: not device["this_device"])  # this device first
    return render_template("auth/sessions.html", devices=devices)


@bp.route("/account/sessions/<int:session_id>/sign-out", methods=["POST"])
@roles_required(*EVERYONE)
def end_one_session(session_id: int):
    require_csrf()
    if session_id == getattr(session, "row_id", None):  # this device: plain sign-out
        return sign_out()
    db = get_session()
    user = current_user._get_current_object()
    # Someone else's session id ends nothing, and says no more than an ended one of yours.
    if not session_store.end_one(db, user.id, session_id):
        flash("That device was already signed out.", "info")
        return redirect(url_for("auth.your_sessions"))
    audit.record(db, "user.session_ended", actor=user, obj=user, ip=client_ip(),
                 detail={"by": "self", "session": session_id})
    db.commit()
    flash("That device is signed out.", "success")
    return redirect(url_for("auth.your_sessions"))
