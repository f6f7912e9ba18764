"""Dashboard, feedback summaries and reports per round."""

from __future__ import annotations

from flask import Blueprint, render_template

from mentoring.access import roles_required
from mentoring.vocab import Role

bp = Blueprint("insights", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)


@bp.route("/rounds/<int:round_id>/dashboard")
@roles_required(*COORDINATORS)
def dashboard(round_id: int):
    return render_template("_placeholder.html", title="Dashboard")
