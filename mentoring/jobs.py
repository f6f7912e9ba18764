"""Coordinators' long actions on a big round, carried out by the worker: importing thousands of
people from a CSV, approving a proposal of thousands of pairs. Small ones stay in the request.

The web request inserts a `background_job` row (`request_job`) and sends the coordinator to its
progress page; the worker claims queued jobs one at a time with a conditional UPDATE (so two
workers never carry out one job) and hands each to its kind's handler, which reports progress
in `done` of `total` and stores its result. A handler is written so that it can be run again
after a worker stopped half-way: an import commits each chunk together with its progress and
resumes after the last chunk committed; an approval is one transaction, so it either happened
(and the job says so in the same commit) or starts again. A job whose worker has gone silent
(no heartbeat) is queued again, up to MAX_ATTEMPTS claims, then failed with a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mentoring import audit
from mentoring.db import session_scope
from mentoring.models import BackgroundJob, ProgrammeRound, User, utcnow
from mentoring.models.jobs import ACTIVE_JOB_STATUSES
from mentoring.vocab import JobKind, RunStatus
from mentoring.worker_context import WorkerContext

log = logging.getLogger(__name__)

# A running job's worker writes a heartbeat at least this often (with its progress); one silent
# for ABANDONED_AFTER has stopped. An approval is one transaction and cannot write its progress
# on SQLite while it runs (the database has one writer), hence the generous margin.
HEARTBEAT_SECONDS = 2.0
ABANDONED_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3

Handler = Callable[[WorkerContext, int], None]


# What each kind of job goes through, as its progress page counts them.
NOUNS = {JobKind.IMPORT: "people", JobKind.APPROVAL: "matches and exchanges"}


def progress_text(job: BackgroundJob) -> str:
    """What a job's progress page says of it, and what the page's script is told to say."""
    if job.status == RunStatus.QUEUED:
        return (f"{job.stage or 'Waiting for the worker'}: {job.total:,} "
                f"{NOUNS.get(job.kind, 'items')} to go.")
    if job.status == RunStatus.RUNNING:
        return f"{job.stage} ({job.progress * 100:.0f}%)."
    return f"{job.stage}."


class JobError(Exception):
    """A job cannot be queued; the message is for the coordinator."""


class AlreadyRunning(JobError):
    def __init__(self, job_id: int) -> None:
        super().__init__("This is already under way")
        self.job_id = job_id


def request_job(session: Session, kind: JobKind, programme_round: ProgrammeRound, user: User,
                payload: dict[str, Any], *, total: int, ip: str = "") -> BackgroundJob:
    """Queue a job for the worker (the caller commits). Raises AlreadyRunning when the round
    has a job of this kind queued or running."""
    job = BackgroundJob(kind=kind, round_id=programme_round.id, requested_by_id=user.id,
                        payload=payload, total=total, stage="Waiting for the worker")
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        raise AlreadyRunning(active_job(session, programme_round.id, kind).id) from None
    audit.record(session, f"job.{kind}_queued", actor=user, obj=job, ip=ip,
                 detail={"round_id": programme_round.id, "total": total})
    return job


def active_job(session: Session, round_id: int, kind: str) -> BackgroundJob | None:
    return session.exec(select(BackgroundJob).where(
        BackgroundJob.round_id == round_id, BackgroundJob.kind == kind,
        BackgroundJob.status.in_(ACTIVE_JOB_STATUSES),  # type: ignore[attr-defined]
    )).first()


def report_progress(session: Session, job: BackgroundJob, done: int, stage: str) -> None:
    """Progress and heartbeat, written in the caller's transaction (an import's chunk)."""
    job.done, job.stage, job.heartbeat_at = done, stage[:80], utcnow()
    session.add(job)


def write_progress(context: WorkerContext, job_id: int, done: int, stage: str) -> None:
    """Progress and heartbeat in a transaction of their own, for a job whose work is one long
    transaction that the page could not see until it ends."""
    with session_scope(context.session_factory) as session:
        session.execute(sa.update(BackgroundJob).where(BackgroundJob.id == job_id).values(
            done=done, stage=stage[:80], heartbeat_at=utcnow()))


def begin_writing(session: Session, job_id: int) -> None:
    """Call first in a job's transaction that writes. SQLite has one writer, and a transaction
    that read before another connection wrote (a coordinator's page noting their session) is
    refused its first write ("database is locked") rather than made to wait: so on SQLite the
    transaction starts with a write (the heartbeat), which waits for the lock instead. Not on
    PostgreSQL, where an approval's progress is written to this row from another connection
    while the transaction runs."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.update(BackgroundJob).where(BackgroundJob.id == job_id)
                        .values(heartbeat_at=utcnow()))


def succeed(session: Session, job: BackgroundJob, result: dict[str, Any]) -> None:
    """Mark the job done in the transaction of its last piece of work."""
    job.status, job.stage, job.finished_at = RunStatus.SUCCEEDED, "Done", utcnow()
    job.done, job.result = job.total, result
    session.add(job)


# --- the worker's side ------------------------------------------------------------------------


def _handlers() -> dict[str, Handler]:
    # Imported here: the features import this module to queue their jobs.
    from mentoring.matching.approval_jobs import carry_out_approval
    from mentoring.rounds.import_jobs import carry_out_import

    return {JobKind.IMPORT: carry_out_import, JobKind.APPROVAL: carry_out_approval}


def run_queued_jobs(context: WorkerContext, *, max_jobs: int = 10) -> int:
    """Worker job: claim and carry out queued jobs, oldest first. Returns how many ran."""
    requeue_abandoned_jobs(context)
    handlers = _handlers()
    done = 0
    while done < max_jobs:
        job_id = _claim_next(context)
        if job_id is None:
            break
        with session_scope(context.session_factory) as session:
            kind = session.get(BackgroundJob, job_id).kind
        try:
            handlers[kind](context, job_id)
        except Exception as exc:  # the job's page says why; the worker carries on
            log.exception("background job %s failed", job_id)
            fail(context, job_id, f"{type(exc).__name__}: {exc}")
        done += 1
    return done


def fail(context: WorkerContext, job_id: int, message: str) -> None:
    with session_scope(context.session_factory) as session:
        job = session.get(BackgroundJob, job_id)
        job.status, job.stage, job.finished_at = RunStatus.FAILED, "Failed", utcnow()
        job.error = message
        session.add(job)
        audit.record(session, f"job.{job.kind}_failed", obj=job,
                     detail={"round_id": job.round_id, "error": message[:500]})


def requeue_abandoned_jobs(context: WorkerContext) -> int:
    """A job still `running` with no heartbeat for ABANDONED_AFTER lost its worker (stopped or
    killed): queue it again to resume, or, after MAX_ATTEMPTS claims, fail it."""
    stale = utcnow() - ABANDONED_AFTER
    with session_scope(context.session_factory) as session:
        stuck = session.exec(select(BackgroundJob).where(
            BackgroundJob.status == RunStatus.RUNNING,
            sa.or_(BackgroundJob.heartbeat_at.is_(None),  # type: ignore[union-attr]
                   BackgroundJob.heartbeat_at < stale),  # type: ignore[operator]
        )).all()
        for job in stuck:
            if job.attempts >= MAX_ATTEMPTS:
                job.status, job.stage, job.finished_at = RunStatus.FAILED, "Failed", utcnow()
                job.error = (f"The worker stopped {job.attempts} times while doing this; "
                             f"{job.done:,} of {job.total:,} were done. Try again, or ask "
                             "for help if it happens again.")
            else:
                job.status, job.stage = RunStatus.QUEUED, "Waiting for the worker to resume"
            session.add(job)
            audit.record(session, f"job.{job.kind}_abandoned", obj=job, detail={
                "round_id": job.round_id, "done": job.done, "attempts": job.attempts,
                "now": job.status})
        return len(stuck)


def _claim_next(context: WorkerContext) -> int | None:
    """Mark the oldest queued job as running; a conditional UPDATE so that only one worker
    ever claims it."""
    with session_scope(context.session_factory) as session:
        candidate = session.exec(
            select(BackgroundJob.id).where(BackgroundJob.status == RunStatus.QUEUED)
            .order_by(BackgroundJob.id).limit(1)
        ).first()
        if candidate is None:
            return None
        now = utcnow()
        claimed = session.execute(
            sa.update(BackgroundJob)
            .where(BackgroundJob.id == candidate, BackgroundJob.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now,
                    attempts=BackgroundJob.attempts + 1, stage="Starting")
        )
        return candidate if claimed.rowcount == 1 else None
