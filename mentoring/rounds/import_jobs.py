"""A CSV import too big for one web request, carried out by the worker (`mentoring.jobs`).

The preview has been shown and the coordinator has confirmed: the job holds the good lines (and
the bad ones, for the result page) and adds the people a chunk at a time. Each chunk commits
with the job's progress, so a worker that stops half-way resumes after the last chunk it
committed; adding people never duplicates anyone, so even a chunk carried out twice is safe.
The result page is the one a small import shows straight away.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlmodel import Session

from mentoring import audit, jobs
from mentoring.auth.joining import Links
from mentoring.db import session_scope
from mentoring.models import BackgroundJob, ProgrammeRound, User
from mentoring.rounds.imports import LineProblem, Person
from mentoring.rounds.participants import AddOutcome, ParticipantError, add_people
from mentoring.vocab import JobKind
from mentoring.worker_context import WorkerContext

# Up to this many people the request imports them itself (about 15 ms a person on
# PostgreSQL: 3 s); more go to the worker, whose progress the coordinator watches.
IMPORT_IN_REQUEST_UP_TO = 200
CHUNK = 200  # people a transaction: progress moves every few seconds


def request_import(session: Session, programme_round: ProgrammeRound, people: list[Person],
                   skipped: list[LineProblem], filename: str, user: User, *,
                   ip: str = "") -> BackgroundJob:
    payload = {
        "filename": filename, "ip": ip, "people": [asdict(person) for person in people],
        "skipped": [{"line": problem.line, "email": problem.email,
                     "reasons": list(problem.reasons)} for problem in skipped],
    }
    return jobs.request_job(session, JobKind.IMPORT, programme_round, user, payload,
                            total=len(people), ip=ip)


def outcome_of(job: BackgroundJob) -> AddOutcome:
    """What the import did so far (all of it, once the job has succeeded)."""
    found = job.result or {}
    return AddOutcome(
        invited=list(found.get("invited", [])), updated=list(found.get("updated", [])),
        added=list(found.get("added", [])),
        already=[tuple(pair) for pair in found.get("already", [])],  # type: ignore[misc]
        refused=[tuple(pair) for pair in found.get("refused", [])],  # type: ignore[misc]
    )


def skipped_of(job: BackgroundJob) -> list[LineProblem]:
    return [LineProblem(row["line"], row["email"], tuple(row["reasons"]))
            for row in job.payload.get("skipped", [])]


def _merged(job: BackgroundJob, outcome: AddOutcome) -> dict[str, Any]:
    so_far = outcome_of(job)
    return {name: [list(item) if isinstance(item, tuple) else item
                   for item in getattr(so_far, name) + getattr(outcome, name)]
            for name in ("invited", "updated", "added", "already", "refused")}


def carry_out_import(context: WorkerContext, job_id: int) -> None:
    """The worker's handler: chunk after chunk from where the job got to."""
    links = Links(secret=context.settings.secret_key, base_url=context.settings.base_url)
    finished = False
    while not finished:
        try:
            with session_scope(context.session_factory) as session:
                finished = _next_chunk(session, links, job_id)
        except ParticipantError as error:  # the round closed meanwhile, say
            jobs.fail(context, job_id, "; ".join(error.errors.values()))
            return


def _next_chunk(session: Session, links: Links, job_id: int) -> bool:
    jobs.begin_writing(session, job_id)
    job = session.get(BackgroundJob, job_id)
    programme_round = session.get(ProgrammeRound, job.round_id)
    actor = session.get(User, job.requested_by_id) if job.requested_by_id else None
    if actor is None:
        raise ParticipantError("The coordinator who asked for this import no longer has an "
                               "account")
    people = job.payload["people"]
    chunk = [Person(**person) for person in people[job.done:job.done + CHUNK]]
    outcome = add_people(session, links, programme_round, chunk, actor,
                         ip=job.payload.get("ip", ""))
    job.result = _merged(job, outcome)
    done = job.done + len(chunk)
    if done < len(people):
        jobs.report_progress(session, job, done, f"Added {done:,} of {len(people):,} people")
        return False
    counts = outcome_of(job).counts()
    audit.record(session, "round.participants_imported", actor=actor, obj=programme_round,
                 detail=counts | {"skipped": len(job.payload.get("skipped", [])),
                                  "job_id": job.id},
                 ip=job.payload.get("ip", ""))
    jobs.succeed(session, job, job.result)
    return True
