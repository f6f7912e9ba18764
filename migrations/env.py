"""Alembic environment: the engine comes from the app's settings (or the caller), never a file."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import mentoring.models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:
        from mentoring.config import load_settings
        from mentoring.db import make_engine

        engine = make_engine(load_settings().database_url)
    return engine


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        # SQLite alters a table in batch mode by copying it, dropping the old one and renaming
        # the copy. With foreign keys on (mentoring.db turns them on for every connection),
        # dropping the old table deletes every row that refers to it through ON DELETE CASCADE:
        # altering `leader_profile` would empty `match`, `exchange` and the rest. So foreign keys
        # are off while migrating (set outside any transaction, or SQLite ignores it) and checked
        # before the migration commits.
        raw = connection.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                compare_type=True,
                render_as_batch=sqlite,
            )
            with context.begin_transaction():
                context.run_migrations()
                if raw is not None:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
            connection.commit()
        finally:
            if raw is not None:
                connection.rollback()
                raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported: `mentoring db upgrade`.")
run_migrations_online()
