"""What every feature's views share: the client's address for the audit log, the CSRF check
of a posted form, and a round by its id."""

from __future__ import annotations

from flask import abort, request

from mentoring.db import get_session
from mentoring.forms import CsrfForm
from mentoring.models import ProgrammeRound


def client_ip() -> str:
    """The address the request came from (behind the proxy: ProxyFix), for the audit log."""
    return request.remote_addr or ""


def require_csrf() -> None:
    """A POST without a valid CSRF token is refused (400) before anything is changed."""
    if not CsrfForm().validate_on_submit():
        abort(400)


def round_or_404(round_id: int) -> ProgrammeRound:
    programme_round = get_session().get(ProgrammeRound, round_id)
    if programme_round is None:
        abort(404)
    return programme_round
