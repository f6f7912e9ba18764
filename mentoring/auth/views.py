"""Sign in and sign out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from mentoring.access import is_safe_redirect
from mentoring.auth import services
from mentoring.db import get_session
from mentoring.forms import CsrfForm

bp = Blueprint("auth", __name__)


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
            user = services.authenticate(db, email, password, ip=request.remote_addr or "")
            db.commit()
            if user is not None:
                session.clear()  # a fresh session on sign-in: no fixation
                login_user(user)
                next_url = request.args.get("next")
                return redirect(next_url if is_safe_redirect(next_url) else url_for("main.home"))
            errors["email"] = "Your email address or password is not right"
    elif request.method == "POST":
        errors[""] = "Your form expired. Try again."
    status = 400 if request.method == "POST" and errors else 200
    return render_template("auth/sign_in.html", form=form, errors=errors, email=email), status


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    form = CsrfForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))
