"""Home pages per role, static pages, NHS.UK assets and the health checks."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, send_from_directory
from flask_login import current_user, login_required

from mentoring import retention
from mentoring.configuration import programme
from mentoring.db import get_session
from mentoring.layout import programme_text
from mentoring.main import services
from mentoring.migrate import head_revision
from mentoring.models import utcnow
from mentoring.notifications.calendar import LONDON
from mentoring.retention import RetentionPeriods
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
        now = utcnow()
        return render_template("main/home_leader.html", **services.leader_home(
            db, current_user, now.astimezone(LONDON).date(), now))
    if current_user.role == Role.COORDINATOR:
        return render_template("main/home_coordinator.html", **services.coordinator_home(db))
    return render_template("main/home_admin.html", **services.admin_home(db))


@bp.route("/accessibility")
def accessibility():
    return render_template("main/accessibility.html")


@bp.route("/privacy")
def privacy():
    """The privacy notice, one heading per section of the programme text (admins write it)."""
    settings = current_app.extensions["mentoring.settings"]
    return render_template("main/privacy.html", sections=programme.PRIVACY_SECTIONS,
                           texts=programme_text(),
                           retention=retention.in_words(RetentionPeriods.from_settings(settings)))


@bp.route("/assets/<path:filename>")
def nhsuk_assets(filename: str):
    """The NHS.UK frontend's CSS, JS and images, installed from npm by `make` (no CDN)."""
    if not NHSUK_ASSETS_DIR.is_dir():
        abort(404)
    return send_from_directory(NHSUK_ASSETS_DIR, filename, max_age=3600)


@bp.route("/healthz")
def healthz():
    """Liveness: the process answers and can reach its database (for `make run` checks and
    load balancers). Say "restart me" only when this fails."""
    try:
        get_session().exec(sa.select(1)).one()
    except sa.exc.SQLAlchemyError as exc:
        return {"status": "error", "database": type(exc).__name__}, 503
    return {"status": "ok", "database": "ok"}


@bp.route("/readyz")
def readyz():
    """Readiness: send traffic here only when the database answers and its schema is the one this
    code expects (after an upgrade, until `mentoring db upgrade` has run, it is not)."""
    try:
        revision = _database_revision(get_session().connection())
    except sa.exc.SQLAlchemyError as exc:
        return {"status": "error", "reason": f"database unreachable ({type(exc).__name__})"}, 503
    expected = head_revision()
    if revision != expected:
        return {
            "status": "error",
            "reason": f"database schema at {revision or 'nothing'}, this code needs {expected}: "
            "run `mentoring db upgrade`",
            "revision": revision,
            "expected": expected,
        }, 503
    settings = current_app.extensions["mentoring.settings"]
    if settings.is_production:
        # The retention section is complete without text: the periods come from the settings.
        missing = programme.missing(programme.of(get_session()), retention_from_settings=True)
        if missing:  # a public service without its privacy notice or contact is not ready
            return {"status": "error", "reason": "programme text missing: "
                    + ", ".join(missing) + " (an admin adds it under Configuration, or "
                    "`mentoring config import FILE`)", "missing": missing}, 503
    return {"status": "ok", "database": "ok", "revision": revision}


def _database_revision(connection: sa.Connection) -> str | None:
    """The schema's migration revision, None for an empty database. Read directly rather than
    through alembic's MigrationContext (mentoring.migrate.current_revision), which logs two
    lines each time: load balancers poll this every few seconds."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
