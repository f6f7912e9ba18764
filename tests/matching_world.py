"""A small round ready for the optimiser, and the worker's context, for the matching tests."""

from __future__ import annotations

from datetime import date, timedelta

from mentoring.worker_context import WorkerContext

MONDAY = date(2030, 1, 7)


def worker(app) -> WorkerContext:
    return WorkerContext(session_factory=app.extensions["mentoring.session_factory"],
                         settings=app.extensions["mentoring.settings"])


def make_round(factory, *, mentors=2, mentees=3, days=(1, 8, 15, 22), **round_fields):
    """Mentors and mentees in different sectors, all free on the same mornings."""
    programme_round = factory.programme_round(
        starts_on=MONDAY, exchanges_per_pair=2, min_days_between_exchanges=7,
        **round_fields)
    people = SimpleRound(programme_round, [], [])
    for number in range(mentors):
        people.mentors.append(factory.mentor(
            name=f"Mentor {number + 1}", profession="acute_clinical_director", sector="acute",
            strengths=["system_leadership", "quality_improvement"], mentor_capacity=1,
            max_hosted_per_week=2, protected_hours_per_month=16))
    for number in range(mentees):
        people.mentees.append(factory.leader(
            name=f"Mentee {number + 1}", profession="nurse", sector="community_health",
            goals=["system_leadership"], can_host=True, max_hosted_per_week=2,
            protected_hours_per_month=16))
    for leader in people.mentors + people.mentees:
        factory.participant(programme_round, leader)
        for offset in days:
            for period in ("am", "pm"):
                factory.availability(programme_round, leader, MONDAY + timedelta(days=offset),
                                     period)
    return people


class SimpleRound:
    def __init__(self, programme_round, mentors, mentees) -> None:
        self.round, self.mentors, self.mentees = programme_round, mentors, mentees


def stored_run(db, programme_round, mentor, mentee, **fields):
    """A finished run proposing `mentor` for `mentee`, as the worker would have stored it."""
    from mentoring.matching.problem import build_problem, fixed_part, fixed_to_dict, live_state
    from mentoring.matching.runs import CONTEXT_KEY
    from mentoring.models import OptimiserRun, utcnow

    problem = build_problem(db, programme_round)
    problem[CONTEXT_KEY] = {"fixed": fixed_to_dict(fixed_part(db, programme_round)),
                            "state": live_state(db, programme_round)}
    solution = {
        "format": "mentoring-solution/1", "status": "optimal", "objective": 7.5, "bound": 7.5,
        "pairs": [{"mentor": str(mentor.id), "mentee": str(mentee.id), "score": 7.5,
                   "reasons": ["crosses sectors: acute and primary care +2"]}],
        "exchanges": [], "unmatched": [], "stats": {"solve_seconds": 0.1},
    }
    run = OptimiserRun(round_id=programme_round.id, status="succeeded", stage="succeeded",
                       progress=1.0, solution_status="optimal", problem=problem,
                       solution=solution, started_at=utcnow(), finished_at=utcnow(), **fields)
    db.add(run)
    db.flush()
    return run
