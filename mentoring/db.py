"""Database engine and the per-request session.

Services receive a Session; they never import Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session

SessionFactory = Callable[[], Session]


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite opens transactions lazily, so a SAVEPOINT issued first would become the outermost
    # transaction and its RELEASE a real COMMIT. Take over: no implicit BEGIN, we emit our own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
    # The web app and the worker share the file: wait for the other's write (an approval or a
    # batch of emails can take several seconds) rather than fail with "database is locked".
    cursor.execute("PRAGMA busy_timeout=30000")
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
    deferred transactions: most requests only read, and readers must not queue behind the
    worker's writes. PostgreSQL ignores the option."""
    return engine.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})


def init_app(app: Flask, engine: Engine) -> None:
    app.extensions["mentoring.engine"] = engine
    app.extensions.setdefault(
        "mentoring.session_factory", lambda: Session(engine, expire_on_commit=False)
    )
    writer = writing(engine)
    app.extensions.setdefault(
        "mentoring.worker_session_factory", lambda: Session(writer, expire_on_commit=False)
    )
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["mentoring.session_factory"]()
    return g.db_session


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
