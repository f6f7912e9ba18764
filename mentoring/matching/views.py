"""Coordinator pages for optimisation runs, review, approval and changes after approval."""

from __future__ import annotations

from flask import Blueprint, render_template

from mentoring.access import roles_required
from mentoring.vocab import Role

bp = Blueprint("matching", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)


@bp.route("/rounds/<int:round_id>/runs")
@roles_required(*COORDINATORS)
def runs(round_id: int):
    return render_template("_placeholder.html", title="Matching runs")
