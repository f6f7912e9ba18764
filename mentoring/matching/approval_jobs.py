"""Approval of a big proposal, carried out by the worker (`mentoring.jobs`).

`decisions.approve_run` is unchanged: one transaction that either publishes the whole proposal
or nothing. The job wraps it. The job is marked done in that same transaction, so a worker that
stops half-way leaves nothing approved and the job queued again; approving twice is refused by
`approve_run` itself. While it runs, the number of matches and exchanges written so far is
reported from a second connection (PostgreSQL only: SQLite has one writer at a time).
"""

from __future__ import annotations

import time
from dataclasses import asdict

import sqlalchemy as sa
from sqlmodel import Session

from mentoring import jobs
from mentoring.db import session_scope
from mentoring.matching.decisions import ApprovalResult, DecisionError, approve_run
from mentoring.models import (
    BackgroundJob,
    Exchange,
    Match,
    OptimiserRun,
    ProgrammeRound,
    User,
    utcnow,
)
from mentoring.vocab import JobKind
from mentoring.worker_context import WorkerContext

# Proposals of up to this many pairs are approved in the request (200 pairs with 400 exchanges
# take about a second on PostgreSQL); bigger ones by the worker.
APPROVE_IN_REQUEST_UP_TO = 200


def proposal_size(solution: dict | None) -> tuple[int, int]:
    """(pairs, exchanges) the run proposes."""
    solution = solution or {}
    return len(solution.get("pairs", [])), len(solution.get("exchanges", []))


def request_approval(session: Session, run: OptimiserRun, user: User, reason: str, *,
                     size: tuple[int, int], ip: str = "") -> BackgroundJob:
    return jobs.request_job(
        session, JobKind.APPROVAL, session.get(ProgrammeRound, run.round_id), user,
        {"run_id": run.id, "reason": reason, "ip": ip, "pairs": size[0]}, total=sum(size),
        ip=ip)


def result_of(job: BackgroundJob) -> ApprovalResult:
    return ApprovalResult(**job.result)


def carry_out_approval(context: WorkerContext, job_id: int) -> None:
    """The worker's handler."""
    jobs.write_progress(context, job_id, 0, "Checking the proposal against what is approved "
                                            "now, then approving")
    refused = ""
    with session_scope(context.session_factory) as session:
        jobs.begin_writing(session, job_id)
        job = session.get(BackgroundJob, job_id)
        run = session.get(OptimiserRun, job.payload["run_id"])
        user = session.get(User, job.requested_by_id) if job.requested_by_id else None
        if run is None or user is None:
            refused = "The run or the coordinator who approved it no longer exists"
        else:
            watcher = _ProgressWatcher(context, job_id, job.total)
            watcher.start(session)
            try:
                result = approve_run(session, run, user, utcnow(), job.payload.get("reason", ""),
                                     ip=job.payload.get("ip", ""))
            except DecisionError as exc:
                refused = str(exc)
                session.rollback()
            else:
                jobs.succeed(session, job, asdict(result))
            finally:
                watcher.stop(session)
    if refused:
        jobs.fail(context, job_id, refused)


class _ProgressWatcher:
    """Counts the matches and exchanges approval writes (at each flush) and reports them every
    couple of seconds from a connection of its own."""

    def __init__(self, context: WorkerContext, job_id: int, total: int) -> None:
        self.context, self.job_id, self.total = context, job_id, total
        self.written, self.last = 0, time.monotonic()
        self.enabled = False

    def start(self, session: Session) -> None:
        self.enabled = session.get_bind().dialect.name != "sqlite"
        if self.enabled:
            sa.event.listen(session, "after_flush", self._flushed)

    def stop(self, session: Session) -> None:
        if self.enabled:
            sa.event.remove(session, "after_flush", self._flushed)

    def _flushed(self, session, _context) -> None:
        self.written += sum(1 for item in session.new if isinstance(item, Match | Exchange))
        if time.monotonic() - self.last >= jobs.HEARTBEAT_SECONDS:
            self.last = time.monotonic()
            done = min(self.written, self.total)
            jobs.write_progress(self.context, self.job_id, done,
                                f"Approving: {done:,} of {self.total:,} matches and exchanges "
                                "written")
