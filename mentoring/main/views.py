"""Home pages per role, static pages, NHS.UK assets and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, send_from_directory
from flask_login import current_user, login_required

from mentoring.db import get_session
from mentoring.main import services
from mentoring.vocab import Role
from mentoring.web import NHSUK_ASSETS_DIR

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return home()
    return render_template("main/start.html")


@bp.route("/home")
@login_required
def home():
    db = get_session()
    if current_user.role == Role.LEADER:
        return render_template("main/home_leader.html", **services.leader_home(db, current_user))
    if current_user.role == Role.COORDINATOR:
        return render_template("main/home_coordinator.html", **services.coordinator_home(db))
    return render_template("main/home_admin.html", **services.admin_home(db))


@bp.route("/accessibility")
def accessibility():
    return render_template("main/accessibility.html")


@bp.route("/privacy")
def privacy():
    return render_template("main/privacy.html")


@bp.route("/assets/<path:filename>")
def nhsuk_assets(filename: str):
    """The NHS.UK frontend's CSS, JS and images, installed from npm by `make` (no CDN)."""
    if not NHSUK_ASSETS_DIR.is_dir():
        abort(404)
    return send_from_directory(NHSUK_ASSETS_DIR, filename, max_age=3600)


@bp.route("/healthz")
def healthz():
    """Liveness and database reachability, for load balancers and `make run` checks."""
    try:
        get_session().exec(sa.select(1)).one()
    except sa.exc.SQLAlchemyError as exc:
        return {"status": "error", "database": type(exc).__name__}, 503
    return {"status": "ok", "database": "ok"}
