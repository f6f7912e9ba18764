"""Admin pages: users, roles, deactivation and the audit log."""

from __future__ import annotations

from flask import Blueprint, render_template

from mentoring.access import roles_required
from mentoring.vocab import Role

bp = Blueprint("admin", __name__)


@bp.route("/admin/users")
@roles_required(Role.ADMIN)
def users():
    return render_template("_placeholder.html", title="Users")


@bp.route("/admin/audit")
@roles_required(Role.ADMIN)
def audit_log():
    return render_template("_placeholder.html", title="Audit log")
