"""Optimisation runs: queued by a coordinator, carried out by the worker (the solver in a child
process), cancellable, one at a time per round, failures explained."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from mentoring.matching import runs
from mentoring.matching.runs import RunError, request_run, run_queued_optimisations
from mentoring.models import AuditEvent, OptimiserRun

from matching_world import MONDAY, make_round, worker


@pytest.fixture
def small(factory):
    return make_round(factory)


def test_a_requested_run_waits_for_the_worker_then_holds_problem_and_solution(
        app, db, small, coordinator):
    run = request_run(db, small.round, coordinator, time_limit=30, note="first try")
    db.commit()
    assert run.status == "queued" and run.problem is None  # the web request solves nothing

    assert run_queued_optimisations(worker(app)) == 1
    db.refresh(run)
    assert run.status == "succeeded", run.error
    assert run.solution_status == "optimal" and run.progress == 1.0
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    assert {leader["id"] for leader in run.problem["leaders"]} == {
        str(p.id) for p in small.mentors + small.mentees}
    # Two mentors with room for one mentee each: two pairs, two exchanges each.
    assert len(run.solution["pairs"]) == 2 and len(run.solution["exchanges"]) == 4
    assert [u["id"] for u in run.solution["unmatched"]] != []
    actions = db.exec(select(AuditEvent.action).where(AuditEvent.object_id == str(run.id),
                                                      AuditEvent.object_type == "OptimiserRun"))
    assert {"optimiser.run_requested", "optimiser.run_finished"} <= set(actions.all())
    assert run_queued_optimisations(worker(app)) == 0  # nothing left to do


def test_only_one_run_per_round_at_a_time(db, small, coordinator, factory):
    request_run(db, small.round, coordinator)
    with pytest.raises(RunError, match="already queued or running"):
        request_run(db, small.round, coordinator)
    other_round = make_round(factory, mentors=1, mentees=1)
    assert request_run(db, other_round.round, coordinator).status == "queued"


def test_a_finished_run_frees_the_round_for_the_next(app, db, small, coordinator):
    request_run(db, small.round, coordinator, time_limit=30)
    run_queued_optimisations(worker(app))
    assert request_run(db, small.round, coordinator).status == "queued"


@pytest.mark.parametrize("status", ["draft", "closed", "archived"])
def test_rounds_that_are_not_live_cannot_be_optimised(db, factory, coordinator, status):
    programme_round = factory.programme_round(status=status)
    with pytest.raises(RunError, match="cannot be optimised"):
        request_run(db, programme_round, coordinator)


def test_a_time_limit_must_be_one_offered(db, small, coordinator):
    with pytest.raises(RunError, match="time limits"):
        request_run(db, small.round, coordinator, time_limit=100_000)


def test_cancelling_a_queued_run_means_it_never_runs(app, db, small, coordinator):
    run = request_run(db, small.round, coordinator)
    runs.cancel_run(db, run, coordinator)
    db.commit()
    assert run.status == "cancelled"
    assert run_queued_optimisations(worker(app)) == 0
    db.refresh(run)
    assert run.solution is None


def test_cancelling_a_running_run_stops_the_solver(app, db, small, coordinator):
    run = request_run(db, small.round, coordinator)
    db.commit()
    run_id = runs._claim_next(worker(app))
    assert run_id == run.id
    db.refresh(run)
    assert run.status == "running"
    runs.cancel_run(db, run, coordinator)
    db.commit()
    runs.execute_run(worker(app), run.id)
    db.refresh(run)
    assert run.status == "cancelled" and run.solution is None
    assert "Cancelled" in run.error


def test_a_run_that_cannot_succeed_says_why(app, db, factory, coordinator):
    # One mentor and one mentee with no common free half-day, pinned together.
    programme_round = factory.programme_round(starts_on=MONDAY)
    mentor = factory.mentor(name="Mo", sector="acute")
    mentee = factory.leader(name="Mia", sector="social_care", profession="social_worker")
    for leader, offset in ((mentor, 1), (mentee, 2)):
        factory.participant(programme_round, leader)
        factory.availability(programme_round, leader, MONDAY + timedelta(days=offset))
    factory.match(programme_round, mentor, mentee, pinned=True)
    run = request_run(db, programme_round, coordinator, time_limit=30)
    run_queued_optimisations(worker(app))
    db.refresh(run)
    assert run.status == "failed"
    assert "No proposal meets every rule" in run.error
    assert f"pinned pair ('{mentor.id}', '{mentee.id}')" in run.error


def test_a_broken_round_fails_the_run_not_the_worker(app, db, small, coordinator, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(runs, "build_problem", broken)
    run = request_run(db, small.round, coordinator)
    assert run_queued_optimisations(worker(app)) == 1
    db.refresh(run)
    assert run.status == "failed" and "the database went away" in run.error


def test_the_stored_problem_is_a_valid_optimiser_document(app, db, small, coordinator):
    from optimiser import load_problem

    run = request_run(db, small.round, coordinator, time_limit=30)
    run_queued_optimisations(worker(app))
    db.refresh(run)
    document = {k: v for k, v in run.problem.items() if k != runs.CONTEXT_KEY}
    assert len(load_problem(document).leaders) == 5
    programme_round = small.round
    assert run.problem[runs.CONTEXT_KEY] == {
        "fixed": {"pairs": [], "exchanges": []}, "state": [], "previous_run_id": None,
        "previous": None,
        "window": [programme_round.starts_on.isoformat(), programme_round.ends_on.isoformat()]}


def test_runs_are_listed_newest_first(app, db, small, coordinator):
    first = request_run(db, small.round, coordinator, time_limit=30)
    run_queued_optimisations(worker(app))
    second = request_run(db, small.round, coordinator, time_limit=30)
    assert [run.id for run in runs.runs_of(db, small.round)] == [second.id, first.id]
    assert runs.active_run(db, small.round).id == second.id
    assert isinstance(first, OptimiserRun)


def test_a_run_abandoned_by_a_stopped_worker_is_failed_and_frees_the_round(
        app, db, small, coordinator):
    from datetime import timedelta

    from mentoring.models import utcnow

    run = request_run(db, small.round, coordinator, time_limit=30)
    db.commit()
    runs._claim_next(worker(app))
    db.refresh(run)
    run.started_at = utcnow() - timedelta(minutes=3)  # 30 s limit, 30 s grace, 60 s margin
    db.add(run)
    db.commit()
    assert runs.fail_abandoned_runs(worker(app)) == 1
    db.refresh(run)
    assert run.status == "failed" and "worker stopped" in run.error
    assert request_run(db, small.round, coordinator).status == "queued"


def test_a_run_within_its_time_is_left_alone(app, db, small, coordinator):
    run = request_run(db, small.round, coordinator, time_limit=30)
    db.commit()
    runs._claim_next(worker(app))
    assert runs.fail_abandoned_runs(worker(app)) == 0
    db.refresh(run)
    assert run.status == "running"
