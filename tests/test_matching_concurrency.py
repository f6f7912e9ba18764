"""Two coordinators approving at the same moment, on PostgreSQL (production): exactly one
approval lands, nothing is double-booked, the other coordinator is told to run again.

The `db` fixture is one rolled-back transaction that other connections cannot see, so this test
commits real rows in the scratch database and empties it again afterwards.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, func, select

from mentoring.db import make_engine
from mentoring.matching.decisions import DecisionError, approve_run
from mentoring.matching.runs import request_run, run_queued_optimisations
from mentoring.models import ExchangeBooking, Match, OptimiserRun, User
from mentoring.worker_context import WorkerContext

from conftest import TEST_PASSWORD
from factories import Factory
from matching_world import make_round

NOW = datetime(2029, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def committed(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks and concurrent transactions are PostgreSQL's (production) job")
    with Session(engine, expire_on_commit=False) as session:
        factory = Factory(session, TEST_PASSWORD)
        people = make_round(factory, mentors=2, mentees=3)
        coordinators = [factory.user(email=f"coordinator{n}@example.org", role="coordinator")
                        for n in (1, 2)]
        session.commit()
        context = WorkerContext(lambda: Session(engine, expire_on_commit=False), None)
        run_ids = []
        for coordinator in coordinators:
            run = request_run(session, people.round, coordinator, time_limit=30)
            session.commit()
            run_queued_optimisations(context)
            run_ids.append(run.id)
    yield people.round.id, [c.id for c in coordinators], run_ids
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def approve_at_once(engine, jobs: list[tuple[int, int]]) -> list[str]:
    """Each job (run id, coordinator id) approves in its own thread and connection."""
    url = engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def approve(run_id: int, user_id: int) -> None:
        own = make_engine(url)
        try:
            with Session(own, expire_on_commit=False) as session:
                run, user = session.get(OptimiserRun, run_id), session.get(User, user_id)
                barrier.wait()
                try:
                    approve_run(session, run, user, NOW)
                    session.commit()
                    outcomes.append("approved")
                except DecisionError as exc:
                    session.rollback()
                    outcomes.append(f"refused: {exc}")
        finally:
            own.dispose()

    threads = [threading.Thread(target=approve, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(outcomes)


def test_two_coordinators_approving_two_runs_at_once(engine, committed):
    _round_id, (first, second), (run_a, run_b) = committed
    outcomes = approve_at_once(engine, [(run_a, first), (run_b, second)])
    assert outcomes[0] == "approved" and outcomes[1].startswith("refused:")
    assert "run the optimiser again" in outcomes[1]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Match)).one() == 2
        bookings = session.exec(select(ExchangeBooking)).all()
        assert len(bookings) == 8
        assert len({(b.leader_id, b.starts_at) for b in bookings}) == 8  # nobody double-booked
        approved = session.exec(select(OptimiserRun.id).where(
            OptimiserRun.approved_at.is_not(None))).all()
        assert len(approved) == 1


def test_the_same_run_approved_twice_at_once_lands_once(engine, committed):
    _round_id, (first, second), (run_a, _run_b) = committed
    outcomes = approve_at_once(engine, [(run_a, first), (run_a, second)])
    assert outcomes[0] == "approved" and "already been approved" in outcomes[1]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Match)).one() == 2
