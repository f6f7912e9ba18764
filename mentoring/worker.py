"""The one scheduler process (`mentoring worker`). Features register their jobs in JOBS.

APScheduler runs a job once per process that starts it, so only this command starts it; the jobs
themselves claim work atomically so that two workers started by mistake never do a thing twice.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlmodel import delete

from mentoring.auth import session_store
from mentoring.confidence.services import ask_at_round_end_job
from mentoring.db import session_scope
from mentoring.jobs import run_queued_jobs
from mentoring.matching.runs import run_queued_optimisations
from mentoring.models import SignInAttempt, utcnow
from mentoring.notifications.jobs import plan_notifications, send_due_notifications
from mentoring.outcomes.check_ins import plan_check_ins
from mentoring.retention import RetentionPeriods, apply_retention
from mentoring.visits.checks import chase_host_checks
from mentoring.worker_context import WorkerContext

log = logging.getLogger(__name__)
#: how often the main thread looks whether a stop signal came
STOP_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[WorkerContext], object]
    seconds: int


def prune_sign_in_attempts(context: WorkerContext) -> int:
    """Throttling only looks back a day; older attempts are noise."""
    with session_scope(context.session_factory) as session:
        result = session.exec(
            delete(SignInAttempt).where(SignInAttempt.at < utcnow() - timedelta(days=1))
        )
        return result.rowcount or 0


def check_in_job(context: WorkerContext) -> int:
    """Ask pairs to check in at the round's mid-point and end; nudge quiet pairs (each once)."""
    with session_scope(context.session_factory) as session:
        written = plan_check_ins(session, utcnow())
    if written:
        log.info("check-ins: planned %s emails", written)
    return written


def prune_sessions(context: WorkerContext) -> int:
    """Sessions past their idle or absolute limit are refused already; this deletes them."""
    settings = context.settings
    with session_scope(context.session_factory) as session:
        return session_store.prune(session, utcnow(), session_store.Limits.of(
            settings.session_idle_minutes, settings.session_max_hours))


def retention_job(context: WorkerContext) -> dict[str, int]:
    """Daily: remove personal data past its retention period (mentoring.retention)."""
    with session_scope(context.session_factory) as session:
        return apply_retention(session, RetentionPeriods.from_settings(context.settings), utcnow())


JOBS: list[Job] = [
    Job("prune-sign-in-attempts", prune_sign_in_attempts, 3600),
    Job("prune-sessions", prune_sessions, 3600),
    Job("send-notifications", send_due_notifications, 60),
    Job("plan-notifications", plan_notifications, 900),
    Job("chase-host-checks", chase_host_checks, 900),
    Job("plan-check-ins", check_in_job, 900),
    Job("apply-retention", retention_job, 24 * 3600),
    # Once a round's window has ended, ask its leaders for their end self-assessment (once).
    Job("ask-end-self-assessments", ask_at_round_end_job, 3600),
    # Coordinators wait for this one: look for queued optimisation runs every few seconds.
    Job("run-optimiser", run_queued_optimisations, 3),
    # Imports and approvals of big rounds (mentoring.jobs): coordinators wait for these too.
    Job("run-background-jobs", run_queued_jobs, 3),
]


def worker_context(app: Flask) -> WorkerContext:
    """The jobs' sessions start their SQLite transactions with BEGIN IMMEDIATE
    (`mentoring.db.writing`): they run in threads at once, each reading then writing."""
    return WorkerContext(
        session_factory=app.extensions["mentoring.worker_session_factory"],
        settings=app.extensions["mentoring.settings"],
    )


def build_scheduler(app: Flask) -> BackgroundScheduler:
    context = worker_context(app)
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        # After downtime, run a missed job once rather than skipping it or running it N times.
        "coalesce": True,
        "misfire_grace_time": None,
        "max_instances": 1,
    })
    for job in JOBS:
        scheduler.add_job(
            job.func, "interval", seconds=job.seconds, args=[context], id=job.name,
            name=job.name, next_run_time=utcnow(),
        )
    return scheduler


def run_worker(app: Flask) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    scheduler = build_scheduler(app)
    # The signal handler only sets a flag: it runs in the main thread between two bytecodes, and
    # anything that takes a lock there (threading.Event.set, logging) deadlocks when the main
    # thread was interrupted holding that lock (seen under load: the worker never stopped).
    stopping: list[int] = []

    def stop(signum, _frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    log.info("worker: started with jobs %s", ", ".join(job.name for job in JOBS))
    while not stopping:
        time.sleep(STOP_POLL_SECONDS)
    log.info("worker: signal %s, finishing the current job and stopping", stopping[0])
    scheduler.shutdown(wait=True)  # lets a running job finish its batch
    log.info("worker: stopped")
