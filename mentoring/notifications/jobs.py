"""The worker's jobs for the outbox (registered in `mentoring.worker.JOBS`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlmodel import Session

from mentoring.db import session_scope
from mentoring.models import utcnow
from mentoring.notifications.dispatch import DispatchResult, dispatch_due
from mentoring.notifications.plan import plan_scheduled_exchanges
from mentoring.notifications.transport import Transport, transport_for
from mentoring.worker_context import WorkerContext

log = logging.getLogger(__name__)

def drain(
    session_factory: Callable[[], Session],
    make_transport: Callable[[], Transport],
    *,
    mail_from: str,
    batch_size: int = 200,
    time_budget: float = 50.0,
    clock: Callable = utcnow,
) -> DispatchResult:
    """Batches until nothing is due, the server is away, or the time budget is spent."""
    total = DispatchResult()
    started = time.monotonic()
    while True:
        result = dispatch_due(session_factory, make_transport(), now=clock(),
                              batch_size=batch_size, mail_from=mail_from)
        for name in ("claimed", "sent", "retrying", "failed", "withdrawn", "released",
                     "recovered"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.errors += result.errors
        if result.claimed < batch_size or result.released:
            break
        if time.monotonic() - started > time_budget:
            break
    return total


def send_due_notifications(context: WorkerContext) -> DispatchResult:
    """Every minute: send what is due (a missed run is caught up: due rows stay due)."""
    settings = context.settings
    result = drain(
        context.session_factory, lambda: transport_for(settings.smtp_url, settings.mail_dir),
        mail_from=settings.mail_from,
    )
    if result.claimed or result.recovered:
        log.info("outbox: sent %s, retrying %s, failed %s, withdrawn %s, recovered %s",
                 result.sent, result.retrying, result.failed, result.withdrawn, result.recovered)
    return result


def plan_notifications(context: WorkerContext) -> int:
    """Safety net and deadlines: plan every future exchange (idempotent); remind leaders of
    unanswered offers at half-time and let offers lapse to the coordinators at their deadline."""
    from mentoring.offers.services import plan_offer_deadlines  # offers build on notifications

    now = utcnow()
    with session_scope(context.session_factory) as session:
        written = plan_scheduled_exchanges(session, now)
        written += plan_offer_deadlines(session, now)
    if written:
        log.info("outbox: planned %s new notifications", written)
    return written
