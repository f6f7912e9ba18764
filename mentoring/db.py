"""Database engine and the per-request session.

Services receive a Session; they never import Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.engine import Engine
from sqlmodel import Session

SessionFactory = Callable[[], Session]


# How long a SQLite connection waits for another's write lock before "database is locked".
BUSY_TIMEOUT_SECONDS = 30.0


def make_engine(url: str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS, **kwargs) -> Engine:
    """The engine for `url`; `busy_timeout` (seconds) is SQLite's wait for a write lock."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        sa.event.listen(engine, "connect", partial(_sqlite_pragmas, busy_timeout=busy_timeout))
        sa.event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    sa.event.listen(engine, "before_cursor_execute", _note_writes)
    return engine


# Set on a connection's info when its transaction runs anything but a SELECT; see
# `_close_session` for why it matters.
WROTE = "mentoring.wrote"
# The connection a session's current transaction runs on, once it has one.
CONNECTION = "mentoring.connection"


def _note_writes(connection, _cursor, statement: str, *_args) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info[WROTE] = True


@sa.event.listens_for(Session, "after_begin")
def _forget_writes(session, _transaction, connection) -> None:
    connection.info.pop(WROTE, None)
    session.info[CONNECTION] = connection


def _sqlite_pragmas(dbapi_connection, _record, *, busy_timeout: float) -> None:
    # pysqlite opens transactions lazily, so a SAVEPOINT issued first would become the outermost
    # transaction and its RELEASE a real COMMIT. Take over: no implicit BEGIN, we emit our own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
    # The web app and the worker share the file: wait for the other's write (an approval or a
    # batch of emails can take several seconds) rather than fail with "database is locked".
    cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
    if dbapi_connection.execute("PRAGMA database_list").fetchone()[2]:  # not in-memory
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# An execution option: the statement that opens a SQLite transaction ("BEGIN" unless set).
SQLITE_BEGIN = "mentoring_sqlite_begin"


def _sqlite_begin(connection) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") != "AUTOCOMMIT":
        connection.exec_driver_sql(options.get(SQLITE_BEGIN, "BEGIN"))


def writing(engine: Engine) -> Engine:
    """The engine for units of work that read and then write while other processes write too
    (the worker's jobs): on SQLite their transactions start with BEGIN IMMEDIATE.

    A plain (deferred) BEGIN reads from a snapshot and asks for the write lock only at the
    first write; in WAL mode, if another connection committed since the snapshot was taken,
    that upgrade fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT): busy_timeout
    cannot help, since waiting would not make the snapshot current. The worker's jobs run in
    threads at the same time (an optimiser run writes its progress while the outbox sender
    marks emails sent), so its first run failed this way. BEGIN IMMEDIATE takes the write lock
    first, waiting (busy_timeout) for the other writer to finish, then reads. The web keeps
    deferred transactions for requests that only read (GET), so that they do not queue behind
    the worker's writes; requests that write use this engine too (`init_app`). PostgreSQL
    ignores the option."""
    return engine.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})


# Methods that change nothing (RFC 9110): their requests read, so they keep deferred BEGINs.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def init_app(app: Flask, engine: Engine) -> None:
    app.extensions["mentoring.engine"] = engine
    writer = writing(engine)
    # PostgreSQL has no such BEGIN, and waits for row locks as it always did: its requests
    # keep the engine itself.
    request_writer = writer if engine.dialect.name == "sqlite" else engine

    def request_session() -> Session:
        # A form sent (POST) reads, then writes: on SQLite a deferred transaction that has read
        # cannot wait for the write lock (SQLite answers "database is locked" at once rather
        # than risk two readers each waiting for the other to finish), so a coordinator's
        # "Remove" failed whenever the worker was committing. Its transactions start with BEGIN
        # IMMEDIATE instead: the request waits (busy_timeout) for the worker's commit, then
        # reads and writes. Pages (GET) keep deferred transactions: in WAL mode they read
        # while the worker writes. Outside a request (the CLI) as before.
        unsafe = has_request_context() and request.method not in SAFE_METHODS
        return Session(request_writer if unsafe else engine, expire_on_commit=False)

    app.extensions.setdefault("mentoring.session_factory", request_session)
    app.extensions.setdefault(
        "mentoring.worker_session_factory", lambda: Session(writer, expire_on_commit=False)
    )
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["mentoring.session_factory"]()
    return g.db_session


SQLITE_BUSY, SQLITE_LOCKED = 5, 6
POSTGRES_LOCK_NOT_AVAILABLE = "55P03"


def database_busy(error: BaseException | None) -> bool:
    """Whether `error` is the database's "another transaction holds the lock, and we waited as
    long as we would": SQLite's SQLITE_BUSY (or SQLITE_LOCKED) after busy_timeout, or
    PostgreSQL's lock_not_available after lock_timeout (not set by the app; an operator may).
    Such a failure is the service being busy, not broken: trying again soon works."""
    if not isinstance(error, sa.exc.OperationalError):
        return False
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:  # extended codes (BUSY_SNAPSHOT...) keep the primary in 0xFF
        return sqlite_code & 0xFF in {SQLITE_BUSY, SQLITE_LOCKED}
    return getattr(error.orig, "sqlstate", None) == POSTGRES_LOCK_NOT_AVAILABLE


def forget_session() -> None:
    """End the request's session now, for a page about a failure drawn after the session's
    transaction failed: closing rolls back whatever the transaction still holds (a ROLLBACK
    waits for no lock), and teardown then has nothing to end. A later `get_session` in this
    request starts a fresh session."""
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()
        except sa.exc.SQLAlchemyError:  # the connection is gone; the pool has discarded it
            current_app.logger.warning("Closing a failed request's session failed",
                                       exc_info=True)


def get_engine() -> Engine:
    return current_app.extensions["mentoring.engine"]


def _close_session(exc: BaseException | None) -> None:
    """End the request's transaction: a request that only read ends it with COMMIT, anything
    else (a write the view did not commit, an error) with ROLLBACK as before. The same thing to
    the database for a read, but psycopg forgets its prepared statements at every ROLLBACK, so
    rolling back every page made PostgreSQL plan every query afresh (about 0.4 ms each)."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        # Only a transaction that has a connection: asking for one here would try to connect
        # again, and a database that could not be reached has nothing to end.
        connection = session.info.get(CONNECTION)
        if (exc is None and session.in_transaction() and connection is not None
                and not connection.invalidated and not connection.info.get(WROTE)):
            session.commit()
    finally:
        session.close()


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """A unit of work outside a request (CLI, worker): commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
