"""The coordinator's view of a round's outbox: pending, sent, failed, and retrying a failure."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from mentoring.access import roles_required
from mentoring.db import get_session
from mentoring.models import utcnow
from mentoring.notifications.calendar import LONDON
from mentoring.notifications.dispatch import retry_notification
from mentoring.notifications.queries import notification_round, round_outbox
from mentoring.view_helpers import require_csrf
from mentoring.vocab import Role

bp = Blueprint("outbox", __name__)


@bp.route("/rounds/<int:round_id>/outbox")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def round_outbox_page(round_id: int):
    outbox = round_outbox(get_session(), round_id)
    if outbox is None:
        abort(404)
    return render_template("outbox/round.html", outbox=outbox, london=LONDON)


@bp.route("/notifications/<int:notification_id>/retry", methods=["POST"])
@roles_required(Role.COORDINATOR, Role.ADMIN)
def retry(notification_id: int):
    db = get_session()
    round_id = notification_round(db, notification_id)
    require_csrf()
    if retry_notification(db, notification_id, utcnow()):
        db.commit()
        flash("The email will be sent again within a minute.", "success")
    else:
        flash("That email is not waiting for a retry.", "info")
    if round_id is None:
        return redirect(url_for("main.home"))
    return redirect(url_for("outbox.round_outbox_page", round_id=round_id))
