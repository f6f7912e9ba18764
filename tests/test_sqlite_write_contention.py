"""The worker's jobs run in threads at once, each reading then writing: one must never fail
because another committed in between.

On SQLite (WAL) a deferred transaction that has read and then writes after another connection
committed fails at once with "database is locked" (busy_timeout cannot help): on a fresh
`make run` the first optimiser run failed so, while the worker was writing its first emails.
These tests commit real rows to a database file (concurrency needs separate connections).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from mentoring import create_app
from mentoring.db import make_engine, session_scope, writing
from mentoring.matching.runs import _write_progress, request_run
from mentoring.migrate import upgrade
from mentoring.models import Notification, OptimiserRun
from mentoring.notifications import enqueue
from mentoring.worker import worker_context

from conftest import TEST_PASSWORD, make_settings
from factories import Factory
from matching_world import make_round

# Long enough for the other job to commit in between, on a slow machine too.
PAUSE_SECONDS = 0.5


@pytest.fixture
def committed_engine(engine, tmp_path) -> Iterator[sa.Engine]:
    """A database the test commits to: a file of its own on SQLite, the scratch database
    (emptied afterwards) on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        own = make_engine(f"sqlite:///{tmp_path / 'contention.db'}")
        upgrade(own)
        yield own
        own.dispose()
        return
    yield engine
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def write_an_email(session_factory, key: str) -> None:
    """What the notification planners do: one email written in a transaction of its own."""
    with session_scope(session_factory) as session:
        enqueue(session, key=key, kind="test", recipient_email="someone@example.org",
                subject="Hello", template="offer_extended",
                context={"name": "P", "other_name": "X", "respond_by": "1 March 2030",
                         "match_url": "http://127.0.0.1:5000/matches/1"})


class CommitInBetween:
    """After the first SELECT matching `table` on the calling thread, another job (a thread of
    its own) gets PAUSE_SECONDS to commit before the caller's transaction goes on."""

    def __init__(self, engine: sa.Engine, table: str, other_job) -> None:
        self.engine, self.table, self.other_job = engine, table, other_job
        self.caller = threading.get_ident()
        self.other: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def __enter__(self):
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "after_cursor_execute", self._after)
        if self.other is not None:
            self.other.join(60)

    def _after(self, _connection, _cursor, statement: str, *_args) -> None:
        if (self.other is None and threading.get_ident() == self.caller
                and statement.lstrip().upper().startswith("SELECT") and self.table in statement):
            self.other = threading.Thread(target=self._run_other)
            self.other.start()
            time.sleep(PAUSE_SECONDS)

    def _run_other(self) -> None:
        try:
            self.other_job()
        except BaseException as exc:
            self.errors.append(exc)


def test_a_run_writes_its_progress_while_the_worker_writes_emails(committed_engine, tmp_path):
    app = create_app({"SETTINGS": make_settings(tmp_path), "ENGINE": committed_engine})
    context = worker_context(app)
    with Session(committed_engine, expire_on_commit=False) as session:
        factory = Factory(session, TEST_PASSWORD)
        people = make_round(factory, mentors=1, mentees=1)
        coordinator = factory.user(email="coordinator@example.org", role="coordinator")
        session.commit()
        run = request_run(session, people.round, coordinator, time_limit=30)
        session.commit()

    # The run's job reads its row; the planner commits an email; the run's job writes.
    with CommitInBetween(committed_engine, "optimiser_run",
                         lambda: write_an_email(context.session_factory, "contention:1")) as other:
        cancel_requested = _write_progress(context, run.id, ("solving", 0.5))

    assert other.errors == []
    assert cancel_requested is False
    with Session(committed_engine) as session:
        stored = session.get(OptimiserRun, run.id)
        assert (stored.stage, stored.progress) == ("solving", 0.5)
        assert session.execute(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.idempotency_key == "contention:1")).scalar() == 1


def test_a_transaction_that_read_can_write_after_another_committed(tmp_path):
    """The same at the engine: the worker's sessions (`writing`) on a SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE counter (name TEXT PRIMARY KEY, n INT)")
            connection.exec_driver_sql("INSERT INTO counter VALUES ('a', 0), ('b', 0)")
        writer = writing(engine)

        def bump(name: str) -> None:
            with Session(writer) as session, session.begin():
                session.execute(sa.text("UPDATE counter SET n = n + 1 WHERE name = :name"),
                                {"name": name})

        with (CommitInBetween(engine, "counter", lambda: bump("b")) as other,
              Session(writer) as session, session.begin()):
            n = session.execute(sa.text("SELECT n FROM counter WHERE name = 'a'")).scalar()
            session.execute(sa.text("UPDATE counter SET n = :n WHERE name = 'a'"), {"n": n + 1})
        assert other.errors == []
        with engine.connect() as connection:
            assert dict(connection.exec_driver_sql("SELECT name, n FROM counter").all()) == {
                "a": 1, "b": 1}
    finally:
        engine.dispose()
