"""Coordinator pages for rounds and participants."""

from __future__ import annotations

from flask import Blueprint, render_template

from mentoring.access import roles_required
from mentoring.vocab import Role

bp = Blueprint("rounds", __name__)
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)


@bp.route("/rounds")
@roles_required(*COORDINATORS)
def index():
    return render_template("_placeholder.html", title="Programme rounds")


@bp.route("/rounds/<int:round_id>")
@roles_required(*COORDINATORS)
def overview(round_id: int):
    return render_template("_placeholder.html", title="Round")
