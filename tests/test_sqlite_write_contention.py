"""The worker's jobs run in threads at once, each reading then writing: one must never fail
because another committed in between.

On SQLite (WAL) a deferred transaction that has read and then writes after another connection
committed fails at once with "database is locked" (busy_timeout cannot help): on a fresh
`make run` the first optimiser run failed so, while the worker was writing its first emails.
The web's requests that write met the same while the worker committed (see "the web's writes").
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
from mentoring.models import Notification, OptimiserRun, utcnow
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


# --- the web's writes ----------------------------------------------------------------------
# A coordinator's "Remove" on a run's review page, made while the worker commits a big job:
# on SQLite the request read, then asked for the write lock the worker held and got "database
# is locked" at once (500). A request that writes must wait for the lock as the worker's jobs
# do, and one kept waiting past the timeout must get a "busy, try again" page.

HOLD_SECONDS = 1.0


class WriteLockHeld:
    """What the worker does while it commits a big job: a write transaction (an email written)
    held open for `seconds` in a thread of its own, then committed. On PostgreSQL, where rows
    are locked one by one and a worker's writes rarely stand in a request's way, the job also
    locks the table the request writes to, so that the request has to wait there too."""

    def __init__(self, engine: sa.Engine, seconds: float, table: str) -> None:
        self.engine, self.seconds, self.table = engine, seconds, table
        self.locked = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._hold)

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(10), "the other writer never took the lock"
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join(60)

    def _hold(self) -> None:
        try:
            with Session(writing(self.engine)) as session, session.begin():
                enqueue(session, key="big-job", kind="test", recipient_email="a@example.org",
                        subject="Hello", template="offer_extended",
                        context={"name": "P", "other_name": "X", "respond_by": "1 March 2030",
                                 "match_url": "http://127.0.0.1:5000/matches/1"})
                session.flush()
                if self.engine.dialect.name == "postgresql":
                    session.execute(sa.text(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE"))
                self.locked.set()
                time.sleep(self.seconds)
        except BaseException as exc:
            self.errors.append(exc)
            self.locked.set()


class ReviewPage:
    """A coordinator signed in to `app`, on the review page of a finished run of one pair."""

    def __init__(self, app, engine: sa.Engine) -> None:
        from mentoring.models import ProposalRemoval

        from conftest import SignedIn, csrf_token
        from matching_world import stored_run

        with Session(engine, expire_on_commit=False) as session:
            factory = Factory(session, TEST_PASSWORD)
            people = make_round(factory, mentors=1, mentees=1)
            coordinator = factory.user(email="coordinator@example.org", role="coordinator")
            run = stored_run(session, people.round, people.mentors[0], people.mentees[0])
            session.commit()
        self.engine, self.model = engine, ProposalRemoval
        self.client = SignedIn(app, coordinator)
        self.url = f"/rounds/{people.round.id}/runs/{run.id}"
        page = self.client.get(self.url)
        assert page.status_code == 200
        self.form = {"csrf_token": csrf_token(page.get_data(as_text=True)),
                     "mentor_id": str(people.mentors[0].id),
                     "mentee_id": str(people.mentees[0].id), "run_id": str(run.id)}

    def remove(self):
        """Press "Remove" on the pair; returns the response and the seconds it took."""
        started = time.perf_counter()
        response = self.client.client.post(f"{self.url}/remove", data=self.form)
        return response, time.perf_counter() - started

    def removals(self) -> int:
        with Session(self.engine) as session:
            return session.execute(
                sa.select(sa.func.count()).select_from(self.model)).scalar_one()


def test_a_post_waits_for_the_workers_write_then_succeeds(committed_engine, tmp_path):
    app = create_app({"SETTINGS": make_settings(tmp_path), "ENGINE": committed_engine})
    review = ReviewPage(app, committed_engine)

    with WriteLockHeld(committed_engine, HOLD_SECONDS, "proposal_removal") as worker_job:
        # Pages that only read do not queue behind the worker.
        started = time.perf_counter()
        assert review.client.get(review.url).status_code == 200
        assert time.perf_counter() - started < HOLD_SECONDS / 2
        response, seconds = review.remove()

    assert worker_job.errors == []
    assert response.status_code == 302, response.get_data(as_text=True)
    assert seconds > HOLD_SECONDS / 2  # it waited for the worker's commit, then wrote
    assert review.removals() == 1
    with Session(committed_engine) as session:  # and the worker's job was not disturbed
        assert session.execute(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.idempotency_key == "big-job")).scalar() == 1


def test_a_post_kept_waiting_past_the_timeout_gets_the_busy_page(committed_engine, tmp_path):
    """The lock is held longer than the app waits (0.3 s here; 30 s in the app): a page that
    says the service is busy and to try again (503), nothing written, still signed in."""
    url = committed_engine.url.render_as_string(hide_password=False)
    if committed_engine.dialect.name == "sqlite":
        impatient = make_engine(url, busy_timeout=0.3)
    else:  # PostgreSQL waits for a lock without limit unless lock_timeout is set
        impatient = make_engine(url, connect_args={"options": "-c lock_timeout=300"})
    app = create_app({"SETTINGS": make_settings(tmp_path), "ENGINE": impatient})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: errors get their page
    review = ReviewPage(app, committed_engine)
    try:
        with WriteLockHeld(committed_engine, 3 * HOLD_SECONDS, "proposal_removal"):
            response, seconds = review.remove()
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert seconds < 3 * HOLD_SECONDS  # it gave up at its timeout
        assert "Sorry, the service is busy" in page and "Try again in a few seconds" in page
        assert "Skip to main content" in page and "locked" not in page
        assert response.headers["Retry-After"]
        assert review.removals() == 0
        # Trying again once the worker is done works, in the same signed-in session.
        response, _seconds = review.remove()
        assert response.status_code == 302
        assert review.removals() == 1
    finally:
        impatient.dispose()


def test_pages_that_save_the_session_wait_for_the_workers_write(committed_engine, tmp_path):
    """Pages (GET) keep deferred transactions, but some write the session: a first visit
    stores one (the sign-in form's CSRF token), a signed-in page moves the idle clock once a
    minute. Those writes too wait for the worker's commit rather than fail."""
    from datetime import timedelta

    from mentoring.configuration.views import CACHE
    from mentoring.models import UserSession

    app = create_app({"SETTINGS": make_settings(tmp_path), "ENGINE": committed_engine})
    review = ReviewPage(app, committed_engine)
    with Session(committed_engine) as session:  # the coordinator's last page: 2 minutes ago
        for row in session.execute(sa.select(UserSession)).scalars():
            row.last_seen_at -= timedelta(minutes=2)
        session.commit()

    app.extensions[CACHE].clear()  # so that the sign-in page reads before its session is saved
    visitor = app.test_client()
    for client, url in ((visitor, "/sign-in"), (review.client, review.url)):
        with WriteLockHeld(committed_engine, HOLD_SECONDS, "user_session") as worker_job:
            started = time.perf_counter()
            response = client.get(url)
            seconds = time.perf_counter() - started
        assert worker_job.errors == []
        assert response.status_code == 200, url
        assert seconds > HOLD_SECONDS / 2, url  # it waited for the worker's commit
    assert visitor.get_cookie("session") is not None  # the first visit's session was stored
    with Session(committed_engine) as session:
        last_seen = [row.last_seen_at for row in session.execute(
            sa.select(UserSession).where(UserSession.user_id.is_not(None))).scalars()]
    assert len(last_seen) == 1 and utcnow() - last_seen[0] < timedelta(minutes=1)
