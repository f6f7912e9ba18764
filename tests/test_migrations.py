"""The Alembic migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import json

import pytest
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


def test_configuration_goes_down_and_up_keeping_a_key_an_admin_added(engine):
    """0007a's way down restores the CHECK constraints with every key rows hold (a borough an
    admin added included), so no row is lost and nothing fails; the way up drops them again."""
    from sqlmodel import Session

    from mentoring.migrate import head_revision

    from factories import Factory

    with Session(engine) as session:
        kept = Factory(session, "unused-password").leader(
            email="kept@example.org", name="Kept", profession="paramedic",
            sector="ambulance", borough="tower_hamlets")
        session.commit()
        organisation_id = kept.organisation_id
    try:
        downgrade(engine, "0005d")
        with engine.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT borough FROM leader_profile WHERE name = 'Kept'")).scalar() == (
                "tower_hamlets")
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text("UPDATE leader_profile SET borough = 'atlantis' "
                                       "WHERE name = 'Kept'"))
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert schema_differences(engine) == []
        with engine.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT count(*) FROM vocabulary_term WHERE kind = 'place'")).scalar() == 6
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM app_user WHERE email = 'kept@example.org'"))
            connection.execute(sa.text("DELETE FROM organisation WHERE id = :id"),
                               {"id": organisation_id})


def test_reciprocal_rule_goes_down_and_up_keeping_each_rounds_behaviour(engine):
    """0008d: a yes/no `reciprocal` becomes required/off (rounds keep what they did); going
    down, where_possible becomes yes."""
    from sqlmodel import Session

    from mentoring.migrate import head_revision

    from factories import Factory

    with Session(engine) as session:
        factory = Factory(session, "unused-password")
        ids = {rule: factory.programme_round(name=f"Reciprocal {rule}", reciprocal=rule).id
               for rule in ("required", "where_possible", "off")}
        session.commit()

    def reciprocal_of(connection) -> dict:
        rows = connection.execute(sa.text(
            "SELECT id, reciprocal FROM programme_round WHERE name LIKE 'Reciprocal %'"))
        return {row.id: row.reciprocal for row in rows}

    try:
        downgrade(engine, "0007b")
        with engine.connect() as connection:
            assert {k: bool(v) for k, v in reciprocal_of(connection).items()} == {
                ids["required"]: True, ids["where_possible"]: True, ids["off"]: False}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert schema_differences(engine) == []
        with engine.connect() as connection:
            assert reciprocal_of(connection) == {
                ids["required"]: "required", ids["where_possible"]: "required",
                ids["off"]: "off"}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text("UPDATE programme_round SET reciprocal = 'sometimes'"))
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "DELETE FROM programme_round WHERE name LIKE 'Reciprocal %'"))


def test_priority_floor_goes_down_and_up_leaving_rounds_without_it(engine):
    """0009e: rounds that were there before the setting have it off (they keep what they did);
    going down drops it."""
    from sqlmodel import Session

    from mentoring.migrate import head_revision

    from factories import Factory

    with Session(engine) as session:
        factory = Factory(session, "unused-password")
        floor_id = factory.programme_round(name="Floor on", priority_floor=True).id
        session.commit()
    try:
        downgrade(engine, "0008c")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("programme_round")}
        assert "priority_floor" not in columns
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert schema_differences(engine) == []
        with engine.connect() as connection:
            assert connection.execute(sa.text(
                "SELECT priority_floor FROM programme_round WHERE id = :id"),
                {"id": floor_id}).scalar_one() in (False, 0)
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM programme_round WHERE name = 'Floor on'"))



def test_removed_pairs_move_out_of_run_solutions_and_back(engine):
    """0009a: a run's `solution["removed"]` becomes `proposal_removal` rows (who removed it
    read from the reason the old code wrote); going down writes them back the old way."""
    from sqlmodel import Session

    from mentoring.migrate import head_revision
    from mentoring.models import OptimiserRun

    from factories import Factory

    with Session(engine) as session:
        factory = Factory(session, "unused-password")
        programme_round = factory.programme_round(name="Removals round")
        mentor, kept, removed = (factory.leader(name=name) for name in ("M", "K", "R"))
        remover = factory.user(email="remover@example.org", role="coordinator")
        session.commit()
        ids = {"round": programme_round.id, "mentor": mentor.id, "kept": kept.id,
               "removed": removed.id, "remover": remover.id}
    old_solution = {
        "format": "mentoring-solution/1", "status": "optimal",
        "pairs": [{"mentor": str(ids["mentor"]), "mentee": str(ids["kept"]), "score": 1.0,
                   "reasons": []}],
        "exchanges": [],
        "unmatched": [{"id": str(ids["removed"]),
                       "reason": "removed from this proposal by remover@example.org"}],
        "removed": [{"mentor": str(ids["mentor"]), "mentee": str(ids["removed"])}],
    }
    runs = sa.table("optimiser_run", sa.column("id"), sa.column("solution", sa.JSON))

    def solution_of(connection, run_id):
        value = connection.execute(sa.select(runs.c.solution).where(runs.c.id == run_id)
                                   ).scalar()
        return json.loads(value) if isinstance(value, str) else value

    try:
        downgrade(engine, "0008c")
        with Session(engine) as session:  # (optimiser_run is the same at 0008c)
            run = OptimiserRun(round_id=ids["round"], status="succeeded", solution=old_solution)
            session.add(run)
            session.commit()
            run_id = run.id
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT run_id, mentor_id, mentee_id, removed_by_id FROM proposal_removal")
            ).all()
            assert [tuple(row) for row in rows] == [
                (run_id, ids["mentor"], ids["removed"], ids["remover"])]
            moved = solution_of(connection, run_id)
        assert moved == {k: v for k, v in old_solution.items() if k != "removed"}
        # A pair removed since (the solution keeps it) goes back the old way.
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO proposal_removal (run_id, mentor_id, mentee_id, removed_by_id, "
                "removed_at) VALUES (:run, :mentor, :mentee, :by, CURRENT_TIMESTAMP)"),
                {"run": run_id, "mentor": ids["mentor"], "mentee": ids["kept"],
                 "by": ids["remover"]})
        downgrade(engine, "0008c")
        with engine.connect() as connection:
            back = solution_of(connection, run_id)
        assert back["pairs"] == []
        assert back["removed"] == [
            {"mentor": str(ids["mentor"]), "mentee": str(ids["removed"])},
            {"mentor": str(ids["mentor"]), "mentee": str(ids["kept"])}]
        assert {"id": str(ids["kept"]),
                "reason": "removed from this proposal by remover@example.org"} in back[
            "unmatched"]
    finally:
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM programme_round WHERE name = 'Removals round'"))
            connection.execute(sa.text("DELETE FROM app_user WHERE email = 'remover@example.org'"))
    assert schema_differences(engine) == []
