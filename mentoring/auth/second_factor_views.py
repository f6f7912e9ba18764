"""Second-factor pages: the code asked for after the password or email link, setting up an
authenticator app (required for coordinators and admins before anything else, offered to
leaders), the recovery codes (shown once), and turning it off. Thin views over
mentoring.auth.second_factor.

Between the first factor and the second the browser is not signed in: its session holds only
who is waiting (with their session version) and where they were going, for ten minutes. So no
page that needs a signed-in user can be reached half-way, whatever its decorator says.
"""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from mentoring import audit
from mentoring.access import (
    is_safe_redirect,
    mark_second_factor,
    password_confirmed_recently,
    recent_sign_in_required,
    roles_required,
    signed_in_recently,
)
from mentoring.auth import second_factor, sessions
from mentoring.auth.throttle import Throttled
from mentoring.db import get_session
from mentoring.forms import CsrfForm
from mentoring.models import User
from mentoring.view_helpers import client_ip, require_csrf
from mentoring.vocab import Role

bp = Blueprint("second_factor", __name__)
EVERYONE = (Role.LEADER, Role.COORDINATOR, Role.ADMIN)
PENDING = "second_factor_pending"
PENDING_SECONDS = 10 * 60
SETUP_SECRET = "second_factor_setup_secret"  # noqa: S105 (a session key)
NEW_CODES = "new_recovery_codes"
PASSKEY_CHALLENGE = "passkey_challenge"


def ask_for_second_factor(user: User, next_url: str | None, method: str):
    """After a first factor: a redirect to the code page (or, for a coordinator or admin
    without one, to set one up), or None when this user signs in with one factor."""
    has_one = second_factor.has_second_factor(get_session(), user)
    if not has_one and not second_factor.is_required(user):
        return None
    session[PENDING] = {"user": user.get_id(), "method": method, "at": int(time.time()),
                        "next": next_url if is_safe_redirect(next_url) else None}
    sessions.renew()
    return redirect(url_for("second_factor.challenge" if has_one else "second_factor.setup"))


def _pending() -> tuple[User, dict] | None:
    """The user waiting to give their second factor in this browser, while it is still good."""
    pending = session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user_id = str(pending.get("user", "")).partition(":")[0]
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    # A password change or "sign out everywhere" meanwhile moves the session version on.
    if user is None or not user.is_active or user.get_id() != pending["user"]:
        return None
    return user, pending


def _no_store(page: str, status: int):
    """Pages with a secret (the app's key, recovery codes) are never kept by a browser or a
    proxy, even before the browser is signed in (the app sets no-store for signed-in pages)."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _start_again():
    if session.pop(PENDING, None) is not None:
        flash("Sign in again: it is more than 10 minutes since you entered your password.",
              "info")
    return redirect(url_for("auth.sign_in"))


def _finish(user: User, pending: dict, next_url: str | None = None):
    from mentoring.auth.views import _finish_sign_in

    session.pop(PENDING, None)
    return _finish_sign_in(user, next_url or pending.get("next"), method=pending["method"],
                           second_factor=True)


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
def challenge():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    waiting = _pending()
    if waiting is None:
        return _start_again()
    user, pending = waiting
    form = CsrfForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        db = get_session()
        try:
            used = second_factor.verify(db, user, request.form.get("code", ""), ip=client_ip())
        except (second_factor.SecondFactorError, Throttled) as exc:
            errors["code"] = str(exc)
            used = None
        db.commit()  # failures count towards the lock-out, and are audited
        if used is not None:
            if used == "recovery":
                left = second_factor.recovery_codes_left(db, user)
                flash(f"You used a recovery code: {left} left. If you have lost your phone, "
                      "set up your authenticator app again from your account.", "info")
            return _finish(user, pending)
    has_passkey = bool(second_factor.passkeys_of(get_session(), user))
    return _no_store(render_template("auth/second_factor_challenge.html", form=form,
                                     errors=errors, has_passkey=has_passkey),
                     400 if errors else 200)


@bp.route("/account/second-factor/setup", methods=["GET", "POST"])
def setup():
    """Set up an authenticator app: half-way through signing in (a coordinator or admin who
    has none), or from the account page."""
    waiting = None if current_user.is_authenticated else _pending()
    if waiting is None and not current_user.is_authenticated:
        return _start_again() if PENDING in session else redirect(
            url_for("auth.sign_in", next=request.path))
    user = waiting[0] if waiting else current_user._get_current_object()
    db = get_session()
    replacing = current_user.is_authenticated and second_factor.has_second_factor(db, user)
    # A session taken over must not add the taker's app (the owner would be locked out).
    if current_user.is_authenticated and not signed_in_recently():
        return redirect(url_for("auth.confirm_sign_in", next=request.path))
    secret = session.get(SETUP_SECRET) or second_factor.new_secret()
    session[SETUP_SECRET] = secret
    form = CsrfForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            codes = second_factor.add_totp(db, user, secret, request.form.get("code", ""),
                                           ip=client_ip())
        except second_factor.SecondFactorError as exc:
            errors["code"] = str(exc)
        else:
            db.commit()
            session.pop(SETUP_SECRET, None)
            if waiting is not None:
                response = _finish(user, waiting[1], url_for(
                    "second_factor.recovery_codes", next=waiting[1].get("next")))
            else:
                mark_second_factor()
                response = redirect(url_for("second_factor.recovery_codes"))
            session[NEW_CODES] = codes
            return response
    uri = second_factor.provisioning_uri(secret, user.email)
    return _no_store(render_template(
        "auth/second_factor_setup.html", form=form, errors=errors, signing_in=waiting is not None,
        qr_code=second_factor.qr_code_svg(uri), secret=second_factor.grouped(secret),
        replacing=replacing), 400 if errors else 200)


@bp.route("/account/second-factor/recovery-codes")
@roles_required(*EVERYONE)
def recovery_codes():
    """The new recovery codes, once: the server keeps only their hashes."""
    codes = session.pop(NEW_CODES, None)
    next_url = request.args.get("next")
    if not codes:
        return redirect(url_for("second_factor.manage"))
    return _no_store(render_template(
        "auth/recovery_codes.html", codes=codes,
        next_url=next_url if is_safe_redirect(next_url) else url_for("main.home")), 200)


@bp.route("/account/second-factor")
@roles_required(*EVERYONE)
def manage():
    db = get_session()
    user = current_user._get_current_object()
    return render_template(
        "auth/second_factor.html", factor=second_factor.totp_of(db, user),
        passkeys=second_factor.passkeys_of(db, user),
        codes_left=second_factor.recovery_codes_left(db, user),
        required=second_factor.is_required(user), form=CsrfForm())


@bp.route("/account/second-factor/recovery-codes/new", methods=["POST"])
@roles_required(*EVERYONE)
@recent_sign_in_required
def new_recovery_codes():
    require_csrf()
    db = get_session()
    user = current_user._get_current_object()
    if not second_factor.has_second_factor(db, user):
        return redirect(url_for("second_factor.manage"))
    codes = second_factor.new_recovery_codes(db, user)
    audit.record(db, "second_factor.recovery_codes_replaced", actor=user, obj=user, ip=client_ip())
    db.commit()
    session[NEW_CODES] = codes
    return redirect(url_for("second_factor.recovery_codes"))


@bp.route("/account/second-factor/remove", methods=["POST"])
@roles_required(*EVERYONE)
@recent_sign_in_required
def remove():
    require_csrf()
    db = get_session()
    user = current_user._get_current_object()
    if not second_factor.has_second_factor(db, user):
        return redirect(url_for("second_factor.manage"))
    try:
        second_factor.remove(db, user, ip=client_ip())
    except second_factor.SecondFactorError as exc:
        flash(str(exc), "error")
        return redirect(url_for("second_factor.manage"))
    db.commit()
    flash("Your authenticator app and recovery codes are removed. You sign in with your "
          "password alone.", "success")
    return redirect(url_for("second_factor.manage"))


# --- passkeys: the page's script asks for options, the browser signs, the script posts it ---
# (JSON both ways; the app's CSRF protection checks the X-CSRFToken header of every POST.)


def _party() -> second_factor.RelyingParty:
    return second_factor.RelyingParty.from_base_url(
        current_app.extensions["mentoring.settings"].base_url)


SIGN_IN_AGAIN = "Sign in again: it is more than 10 minutes since you entered your password."


def _refused(message: str = SIGN_IN_AGAIN):
    return jsonify(error=message), 400


def _options(found: tuple[str, str] | None):
    if found is None:
        return _refused("You have no passkey: enter a code instead.")
    options, challenge = found
    session[PASSKEY_CHALLENGE] = challenge
    return current_app.response_class(options, mimetype="application/json")


def _setup_user() -> tuple[User, dict | None] | None:
    """Who is adding a passkey: someone half-way through signing in, or the signed-in user
    (after a recent sign-in if they have a second factor already)."""
    if current_user.is_authenticated:
        return (current_user._get_current_object(), None) if signed_in_recently() else None
    waiting = _pending()
    return waiting if waiting is not None else None


@bp.route("/account/second-factor/passkey/options", methods=["POST"])
def passkey_registration_options():
    found = _setup_user()
    if found is None:
        return _refused()
    return _options(second_factor.passkey_registration(get_session(), found[0], _party()))


@bp.route("/account/second-factor/passkey", methods=["POST"])
def add_passkey():
    found = _setup_user()
    if found is None:
        return _refused()
    user, pending = found
    db = get_session()
    try:
        codes = second_factor.add_passkey(db, user, _party(), request.get_data(as_text=True),
                                          session.pop(PASSKEY_CHALLENGE, ""), ip=client_ip())
    except second_factor.SecondFactorError as exc:
        return jsonify(error=str(exc)), 400
    db.commit()
    if codes:  # the account's first second factor: its recovery codes, shown once
        after = url_for("second_factor.recovery_codes", next=(pending or {}).get("next"))
    elif pending is not None:
        after = pending.get("next") if is_safe_redirect(pending.get("next")) else url_for(
            "main.home")
    else:
        after = url_for("second_factor.manage")
    if pending is not None:
        _finish(user, pending, after)
    else:
        mark_second_factor()
        flash("Your passkey is added.", "success")
    if codes:
        session[NEW_CODES] = codes
    return jsonify(redirect=after)


@bp.route("/sign-in/second-factor/passkey/options", methods=["POST"])
def passkey_request_options():
    waiting = _pending()
    if waiting is None:
        return _refused()
    return _options(second_factor.passkey_request(get_session(), waiting[0], _party()))


@bp.route("/sign-in/second-factor/passkey", methods=["POST"])
def sign_in_with_passkey():
    waiting = _pending()
    if waiting is None:
        return _refused()
    user, pending = waiting
    db = get_session()
    try:
        second_factor.verify_passkey(db, user, _party(), request.get_data(as_text=True),
                                     session.pop(PASSKEY_CHALLENGE, ""), ip=client_ip())
    except (second_factor.SecondFactorError, Throttled) as exc:
        db.commit()
        return jsonify(error=str(exc) if isinstance(exc, Throttled) else
                       "The passkey did not work. Try again, or enter a code."), 400
    db.commit()
    response = _finish(user, pending)
    return jsonify(redirect=response.headers["Location"])


@bp.route("/sign-in/confirm/passkey/options", methods=["POST"])
def confirm_passkey_options():
    """A signed-in user who has just confirmed their password confirms their passkey too."""
    if not current_user.is_authenticated or not password_confirmed_recently():
        return _refused()
    return _options(second_factor.passkey_request(
        get_session(), current_user._get_current_object(), _party()))


@bp.route("/sign-in/confirm/passkey", methods=["POST"])
def confirm_with_passkey():
    if not current_user.is_authenticated or not password_confirmed_recently():
        return _refused()
    db = get_session()
    try:
        second_factor.verify_passkey(db, current_user._get_current_object(), _party(),
                                     request.get_data(as_text=True),
                                     session.pop(PASSKEY_CHALLENGE, ""), ip=client_ip())
    except (second_factor.SecondFactorError, Throttled) as exc:
        db.commit()
        return _refused(str(exc) if isinstance(exc, Throttled) else
                        "The passkey did not work. Try again, or enter a code.")
    db.commit()
    mark_second_factor()
    next_url = request.args.get("next")
    return jsonify(redirect=next_url if is_safe_redirect(next_url) else url_for("main.home"))
