"""Optimisation runs: requested from the web, carried out by the worker, stored with their
problem and solution.

A run is a row in `optimiser_run`. The web request only inserts it (`request_run`); the worker
claims queued runs one at a time (`run_queued_optimisations`) and solves each in a child process,
so that a coordinator's "cancel" can stop the solver at once and a solver crash cannot take the
worker down. Progress goes from the child to the row about once a second. The database allows
one queued or running run per round (a partial unique index).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import re
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from mentoring import audit
from mentoring.db import session_scope
from mentoring.matching.changes import exchanges_to_release
from mentoring.matching.exclusions import removals
from mentoring.matching.problem import (
    build_problem,
    fixed_part,
    fixed_to_dict,
    live_state,
    restrict_to_scope,
)
from mentoring.models import (
    LeaderProfile,
    OptimiserRun,
    ProgrammeRound,
    RoundParticipant,
    User,
    utcnow,
)
from mentoring.models.matching import ACTIVE_RUN_STATUSES
from mentoring.visits.notice import london_date
from mentoring.vocab import RoundStatus, RunKind, RunStatus
from mentoring.worker_context import WorkerContext

log = logging.getLogger(__name__)

TIME_LIMITS = (30, 60, 120, 300)  # seconds a coordinator can give the solver
DEFAULT_TIME_LIMIT = 60
# Beyond its own time limit the solver gets this long to stop before the worker ends it.
GRACE_SECONDS = 30
PROGRESS_EVERY_SECONDS = 1.0
ABANDONED_AFTER_SECONDS = 60  # beyond time limit and grace: the worker must have gone
RUNNABLE_ROUND_STATUSES = (RoundStatus.OPEN, RoundStatus.MATCHING, RoundStatus.PUBLISHED)
CONTEXT_KEY = "mentoring_context"  # our additions to the stored problem document


# Errors the worker writes, which a failed run's page tells apart (`failure_kind`).
PROBLEM_ERROR = "The round cannot be optimised: "
WORKER_STOPPED = "The worker stopped while this run was in progress: run it again"


class RunError(Exception):
    """A run cannot be requested or changed; the message is for the coordinator, `field` the
    form field it is about (if any)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def runs_of(session: Session, programme_round: ProgrammeRound) -> list[OptimiserRun]:
    """The round's runs, newest first, without their documents (megabytes of JSON each for a
    big round: `proposal.run_documents` reads them when needed)."""
    return list(session.exec(
        select(OptimiserRun).where(OptimiserRun.round_id == programme_round.id)
        .options(defer(OptimiserRun.problem), defer(OptimiserRun.solution))  # type: ignore[arg-type]
        .order_by(OptimiserRun.id.desc())  # type: ignore[union-attr]
    ).all())


def active_run(session: Session, programme_round: ProgrammeRound) -> OptimiserRun | None:
    return session.exec(
        select(OptimiserRun).where(
            OptimiserRun.round_id == programme_round.id,
            OptimiserRun.status.in_(ACTIVE_RUN_STATUSES),  # type: ignore[attr-defined]
        )
    ).first()


def request_run(
    session: Session, programme_round: ProgrammeRound, user: User, *,
    time_limit: int = DEFAULT_TIME_LIMIT, note: str = "", scope: list[int] | None = None,
    ip: str = "",
) -> OptimiserRun:
    """Queue a run of the whole round, or (with `scope`) a local run around those leaders."""
    if programme_round.status not in RUNNABLE_ROUND_STATUSES:
        raise RunError(f"A {programme_round.status} round cannot be optimised; open it first")
    if time_limit not in TIME_LIMITS:
        raise RunError("Choose one of the time limits offered", "time_limit")
    note = (note or "").strip()
    if len(note) > 1000:
        raise RunError("Enter a note of no more than 1000 characters", "note")
    if scope is not None and not scope:
        raise RunError("Choose at least one leader to re-optimise", "leader")
    run = OptimiserRun(
        round_id=programme_round.id, requested_by_id=user.id, time_limit_seconds=time_limit,
        note=note, kind=RunKind.LOCAL if scope is not None else RunKind.FULL,
        scope=sorted(set(scope)) if scope is not None else None, stage="queued",
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        raise RunError(
            "A run for this round is already queued or running: wait for it or cancel it"
        ) from None
    audit.record(session, "optimiser.run_requested", actor=user, obj=run, ip=ip,
                 detail={"round_id": programme_round.id, "kind": run.kind, "scope": run.scope,
                         "time_limit": time_limit, "note": note})
    return run


def cancel_run(session: Session, run: OptimiserRun, user: User, *, ip: str = "") -> OptimiserRun:
    """A queued run ends now; a running one is stopped by the worker within a second or two."""
    if run.status == RunStatus.QUEUED:
        run.status = RunStatus.CANCELLED
        run.stage = "cancelled"
        run.finished_at = utcnow()
    elif run.status == RunStatus.RUNNING:
        run.cancel_requested = True
    else:
        raise RunError("This run has already finished")
    session.add(run)
    audit.record(session, "optimiser.run_cancelled", actor=user, obj=run, ip=ip,
                 detail={"round_id": run.round_id, "status_when_cancelled": run.status})
    return run


def progress_text(run: OptimiserRun) -> str:
    """What an unfinished run's page says of it, and what the page's script is told to say."""
    if run.cancel_requested:
        return "Cancelling…"
    if run.status == RunStatus.QUEUED:
        return "Waiting for the worker to start the run…"
    return f"Working: {run.stage} ({run.progress * 100:.0f}%)."


def failure_kind(run: OptimiserRun) -> str:
    """Why a failed run failed, as its page explains it and says what to do next:
    `infeasible` (no proposal keeps every rule and pin), `no_time` (the time limit passed
    before any proposal), `problem` (the round's data is not a problem the optimiser takes),
    `worker` (the worker stopped mid-run) or `error` (the solver or the worker failed)."""
    error = run.error or ""
    if run.solution_status == "infeasible":
        return "infeasible"
    if run.solution_status == "no-solution-in-time":
        return "no_time"
    if error.startswith(PROBLEM_ERROR):
        return "problem"
    if error == WORKER_STOPPED:
        return "worker"
    return "error"


def failure_details(session: Session, run: OptimiserRun) -> str:
    """A failed run's error in the optimiser's words, with the name of each leader it quotes
    by id (the optimiser knows leaders only by id: "mentee '12' is pinned to 2 mentors")."""
    error = run.error or ""
    ids = {int(number) for number in re.findall(r"'(\d+)'", error)}
    if not ids:
        return error
    names = dict(session.exec(
        select(LeaderProfile.id, LeaderProfile.name)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == run.round_id,
               LeaderProfile.id.in_(ids))  # type: ignore[union-attr]
    ).all())
    return re.sub(r"'(\d+)'", lambda quoted: names.get(int(quoted.group(1)), quoted.group(0)),
                  error)


def has_problem(session: Session, run: OptimiserRun) -> bool:
    """Whether the run stored its problem (one that failed while building it has none), asked
    of the database rather than by reading a big round's megabytes of problem."""
    text = sa.cast(OptimiserRun.problem, sa.Text)
    return session.exec(select(OptimiserRun.id).where(
        OptimiserRun.id == run.id, text.is_not(None), text != "null")).first() is not None


# --- the worker's side ------------------------------------------------------------------------


def run_queued_optimisations(context: WorkerContext, *, max_runs: int = 10) -> int:
    """Worker job: claim and carry out queued runs, oldest first. Returns how many ran."""
    fail_abandoned_runs(context)
    done = 0
    while done < max_runs:
        run_id = _claim_next(context)
        if run_id is None:
            return done
        execute_run(context, run_id)
        done += 1
    return done


def fail_abandoned_runs(context: WorkerContext) -> int:
    """A run still `running` well past its time limit lost its worker (stopped or killed):
    mark it failed so that the round can be optimised again."""
    now = utcnow()
    with session_scope(context.session_factory) as session:
        stuck = [
            run for run in session.exec(
                select(OptimiserRun).where(OptimiserRun.status == RunStatus.RUNNING)).all()
            if run.started_at is None or (now - run.started_at).total_seconds()
            > run.time_limit_seconds + GRACE_SECONDS + ABANDONED_AFTER_SECONDS
        ]
        for run in stuck:
            run.status, run.stage, run.finished_at = RunStatus.FAILED, RunStatus.FAILED, now
            run.error = WORKER_STOPPED
            session.add(run)
        return len(stuck)


def _claim_next(context: WorkerContext) -> int | None:
    """Mark the oldest queued run as running; a conditional UPDATE so that only one worker
    ever claims it."""
    with session_scope(context.session_factory) as session:
        candidate = session.exec(
            select(OptimiserRun.id).where(OptimiserRun.status == RunStatus.QUEUED)
            .order_by(OptimiserRun.id).limit(1)
        ).first()
        if candidate is None:
            return None
        claimed = session.execute(
            sa.update(OptimiserRun)
            .where(OptimiserRun.id == candidate, OptimiserRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, started_at=utcnow(), stage="preparing")
        )
        return candidate if claimed.rowcount == 1 else None


# A re-run may give up this share of the best score to keep the earlier run's pairs and dates.
# Held to the cent, scores tie so closely that on the demo round one forbid moved 16 of 111
# pairs for 0.01 points; with 0.1 % (about 15 points there, far below the 100 points a match
# is worth, so nobody is left unmatched for it) the same forbid changes only the pair it must.
RERUN_SCORE_ALLOWANCE = 0.001


@dataclass(frozen=True)
class PreparedRun:
    problem: dict[str, Any]
    fixed: dict[str, Any]
    state: list[list[int]]
    time_limit: int
    # The solution the optimiser keeps close to (`previous_solution`), and the run it comes
    # from: it changes no more than the score needs (pins, forbidden pairs, who joined or left).
    previous: dict[str, Any] | None = None
    previous_run_id: int | None = None
    previous_removed: list[tuple[str, str]] = field(default_factory=list)


def followed_run(session: Session, run: OptimiserRun) -> OptimiserRun | None:
    """The run that `run` follows: of the round's earlier runs with a proposal, the one a
    coordinator saw last, that is the latest to finish or to be approved (approving an older
    run makes it what is offered, whatever ran after it)."""
    earlier = session.exec(
        select(OptimiserRun.id, OptimiserRun.created_at, OptimiserRun.finished_at,
               OptimiserRun.approved_at).where(
            OptimiserRun.round_id == run.round_id, OptimiserRun.id < run.id,
            OptimiserRun.status == RunStatus.SUCCEEDED,
            OptimiserRun.solution_status.in_(("optimal", "feasible")),  # type: ignore[attr-defined]
        )
    ).all()
    if not earlier:
        return None
    latest = max(earlier, key=lambda row: (
        max(moment for moment in (row.created_at, row.finished_at, row.approved_at)
            if moment is not None), row.id))
    return session.get(OptimiserRun, latest.id)


class Previous(NamedTuple):
    run_id: int  # the run followed
    solution: dict[str, Any]  # what the optimiser keeps close to
    removed: list[tuple[str, str]]  # pairs removed from that run's proposal


def previous_solution(session: Session, run: OptimiserRun, leader_ids: set[str],
                      fixed: dict[str, Any] | None = None) -> Previous | None:
    """The run `run` follows (`followed_run`) and the solution to keep close to: its proposal
    as the coordinator left it, with the approved state as it is now, between the leaders
    still in the problem (a local run's problem holds only some of them).

    Pairs removed from that proposal are left out, so the optimiser does not try to keep them
    (it may still choose them). Forbidden pairs stay: no run can form them, and the review
    says whose mentor changed because of one. Approved pairs (`fixed`) and their exchanges as
    they are now stand for whatever that run proposed for their leaders: offers declined or
    exchanges moved since are what the coordinator sees. Stored with the run too, so that its
    review can mark what changed (`proposal.changes_since`)."""
    earlier = followed_run(session, run)
    if earlier is None or not earlier.solution:
        return None
    solution = earlier.solution
    removed = list(removals(session, [earlier.id])[earlier.id])
    out = {frozenset(pair) for pair in removed}

    def kept(one: str, other: str) -> bool:
        return {one, other} <= leader_ids and frozenset((one, other)) not in out

    pairs = [pair for pair in solution.get("pairs", []) if kept(pair["mentor"], pair["mentee"])]
    exchanges = [x for x in solution.get("exchanges", []) if kept(x["host"], x["visitor"])]
    fixed_pairs = (fixed or {}).get("pairs", [])
    if fixed_pairs:
        proposed = {(pair["mentor"], pair["mentee"]): pair for pair in pairs}
        approved = {pair["mentee"] for pair in fixed_pairs}
        between = {frozenset((pair["mentor"], pair["mentee"])) for pair in fixed_pairs}
        pairs = [pair for pair in pairs if pair["mentee"] not in approved] + [
            proposed.get((pair["mentor"], pair["mentee"]))
            or {"mentor": pair["mentor"], "mentee": pair["mentee"], "score": 0.0, "reasons": []}
            for pair in fixed_pairs]
        exchanges = [x for x in exchanges
                     if frozenset((x["host"], x["visitor"])) not in between] + [
            dict(x) for x in fixed.get("exchanges", [])]
    return Previous(earlier.id, {**solution, "pairs": pairs, "exchanges": exchanges,
                                 "unmatched": []}, removed)


def prepare(session: Session, run: OptimiserRun) -> PreparedRun:
    """The run's problem as the database holds it now, and what must stay fixed."""
    programme_round = session.get(ProgrammeRound, run.round_id)
    # The notice hosts need counts from the day the coordinator asked for the run.
    problem = build_problem(session, programme_round, london_date(run.created_at))
    in_problem = {int(leader["id"]) for leader in problem["leaders"]}
    released: frozenset[int] = frozenset()
    if run.kind == RunKind.LOCAL:
        released = exchanges_to_release(session, programme_round, set(run.scope or []))
    fixed = fixed_part(session, programme_round, in_problem=in_problem, released=released)
    if run.kind == RunKind.LOCAL:
        problem = restrict_to_scope(problem, fixed, set(run.scope or []))
    fixed_dict = fixed_to_dict(fixed)
    previous = previous_solution(session, run, {leader["id"] for leader in problem["leaders"]},
                                 fixed_dict)
    return PreparedRun(problem=problem, fixed=fixed_dict,
                       state=live_state(session, programme_round),
                       time_limit=run.time_limit_seconds,
                       previous=previous.solution if previous else None,
                       previous_run_id=previous.run_id if previous else None,
                       previous_removed=previous.removed if previous else [])


def reference_of(prepared: PreparedRun) -> dict[str, Any] | None:
    """What a run stores of the solution it kept close to, for its review's marks: pairs,
    exchanges and the pairs removed from it, as short lists (a big round's run is large
    enough already)."""
    previous = prepared.previous
    if previous is None:
        return None
    return {
        "pairs": [[pair["mentor"], pair["mentee"]] for pair in previous["pairs"]],
        "exchanges": [[x["host"], x["visitor"], x["slot"]] for x in previous["exchanges"]],
        "removed": [list(pair) for pair in prepared.previous_removed],
    }


def execute_run(context: WorkerContext, run_id: int) -> None:
    """Build the problem, solve it in a child process, store the outcome."""
    try:
        with session_scope(context.session_factory) as session:
            run = session.get(OptimiserRun, run_id)
            prepared = prepare(session, run)
            # Stored with the problem: what stayed fixed, and the approved state it was built
            # on (approval refuses a run whose state has changed since).
            programme_round = session.get(ProgrammeRound, run.round_id)
            run.problem = {**prepared.problem, CONTEXT_KEY: {
                "fixed": prepared.fixed, "state": prepared.state,
                "previous_run_id": prepared.previous_run_id,
                "previous": reference_of(prepared),
                # the window the run was built for (its summary reads the round as it is now)
                "window": [programme_round.starts_on.isoformat(),
                           programme_round.ends_on.isoformat()],
            }}
            run.stage = "scoring"
            session.add(run)
        outcome = _solve_in_child(context, run_id, prepared)
    except Exception as exc:  # a failed run says why on its page; the worker carries on
        log.exception("optimiser run %s failed", run_id)
        outcome = _Outcome(RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    _finish(context, run_id, outcome)


@dataclass(frozen=True)
class _Outcome:
    status: str
    solution: dict[str, Any] | None = None
    error: str = ""


def _solve_in_child(context: WorkerContext, run_id: int, prepared: PreparedRun) -> _Outcome:
    # "spawn": a fresh interpreter, never a fork of the worker's threads and connections.
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    child = ctx.Process(target=_child_main, args=(prepared, messages), daemon=True)
    child.start()
    deadline = time.monotonic() + prepared.time_limit + GRACE_SECONDS
    last_write = 0.0
    latest: tuple[str, float] | None = None
    try:
        while True:
            try:
                kind, payload = messages.get(timeout=0.25)
            except queue.Empty:
                kind, payload = None, None
            if kind == "progress":
                latest = payload
            elif kind == "done":
                return _Outcome(RunStatus.SUCCEEDED, solution=payload)
            elif kind == "error":
                return _Outcome(RunStatus.FAILED, error=payload)
            if kind is None and not child.is_alive():
                return _Outcome(RunStatus.FAILED,
                                error=f"The solver stopped unexpectedly (exit code "
                                      f"{child.exitcode})")
            if time.monotonic() - last_write >= PROGRESS_EVERY_SECONDS:
                last_write = time.monotonic()
                if _write_progress(context, run_id, latest):
                    return _Outcome(RunStatus.CANCELLED, error="Cancelled by a coordinator")
            if time.monotonic() > deadline:
                return _Outcome(RunStatus.FAILED,
                                error=f"The solver did not stop within its time limit of "
                                      f"{prepared.time_limit} seconds")
    finally:
        if child.is_alive():
            child.terminate()
        child.join(5)
        messages.close()


def _child_main(prepared: PreparedRun, messages) -> None:  # pragma: no cover (child process)
    from mentoring.matching.problem import fixed_from_dict
    from optimiser import (
        ProblemError,
        load_problem,
        solution_from_dict,
        solution_to_dict,
        solve,
    )

    try:
        problem = load_problem(prepared.problem)
        solution = solve(
            problem, time_limit=prepared.time_limit, fixed=fixed_from_dict(prepared.fixed),
            previous=solution_from_dict(prepared.previous) if prepared.previous else None,
            previous_tolerance=RERUN_SCORE_ALLOWANCE,
            progress=lambda stage, fraction: messages.put(("progress", (stage, fraction))),
        )
        messages.put(("done", solution_to_dict(solution)))
    except ProblemError as exc:
        messages.put(("error", PROBLEM_ERROR + "; ".join(exc.errors)))
    except Exception as exc:
        messages.put(("error", f"The solver failed: {type(exc).__name__}: {exc}"))


def _write_progress(context: WorkerContext, run_id: int,
                    latest: tuple[str, float] | None) -> bool:
    """Store the latest progress; True when a coordinator has asked to cancel."""
    with session_scope(context.session_factory) as session:
        run = session.get(OptimiserRun, run_id)
        if latest is not None:
            run.stage, run.progress = latest[0][:40], round(float(latest[1]), 3)
            session.add(run)
        return run.cancel_requested


def _finish(context: WorkerContext, run_id: int, outcome: _Outcome) -> None:
    with session_scope(context.session_factory) as session:
        run = session.get(OptimiserRun, run_id)
        run.finished_at = utcnow()
        run.status = outcome.status
        run.error = outcome.error
        run.stage = outcome.status
        if outcome.solution is not None:
            solution = outcome.solution
            stats = solution.get("stats", {})
            run.solution = solution
            run.solution_status = solution["status"]
            run.objective = solution.get("objective")
            run.bound = solution.get("bound")
            run.build_seconds = stats.get("build_seconds")
            run.solve_seconds = stats.get("solve_seconds")
            run.progress = 1.0
            if solution["status"] not in ("optimal", "feasible"):
                run.status = RunStatus.FAILED
                run.error = _failure_text(solution)
        session.add(run)
        audit.record(session, "optimiser.run_finished", obj=run,
                     detail={"round_id": run.round_id, "status": run.status,
                             "solution_status": run.solution_status, "error": run.error[:500]})


def _failure_text(solution: dict[str, Any]) -> str:
    reasons = {
        "infeasible": "No proposal meets every rule.",
        "no-solution-in-time": "The time limit passed before any proposal was found: "
                               "run again with a longer time limit.",
        "error": "The solver failed.",
    }
    text = reasons.get(solution["status"], f"The solver ended with {solution['status']}.")
    messages = solution.get("messages") or []
    return " ".join([text, *messages])
