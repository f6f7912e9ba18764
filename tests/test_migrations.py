"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import mentoring.models  # noqa: F401
from mentoring.migrate import current_revision, downgrade, upgrade


def schema_differences(engine: sa.Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, SQLModel.metadata)


def test_migrated_database_matches_the_models(engine):
    assert schema_differences(engine) == []


def test_migrations_go_down_to_empty_and_back_up(engine):
    # Run on a second, throwaway schema state: downgrade to base, upgrade to head, compare again.
    downgrade(engine, "base")
    try:
        tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
    finally:
        upgrade(engine)
    assert current_revision(engine) is not None
    assert schema_differences(engine) == []
