"""What the benchmarks share: a scratch PostgreSQL database, COPY bulk loading, and the
organisations their generated leaders work for."""

from __future__ import annotations

import json
import secrets
from contextlib import contextmanager
from random import Random

import sqlalchemy as sa
from sqlmodel import SQLModel

from mentoring.db import make_engine
from mentoring.migrate import upgrade
from mentoring.vocab import BOROUGHS, SECTORS


@contextmanager
def scratch_database(url: str, prefix: str):
    """A migrated, empty database created on the server that `url` names, dropped at the end
    (the database in the URL is only used to run CREATE and DROP DATABASE). Yields the engine
    and the new database's URL."""
    admin_url = sa.make_url(url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database_url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        yield engine, database_url
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _default(column: sa.Column):
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg
    return default.arg(None)  # SQLAlchemy wraps a default factory to take a context


def copy_rows(raw, table_name: str, rows: list[dict]) -> None:
    """COPY rows (dicts with explicit ids) into a table; NOT NULL columns the rows leave out get
    the model's default, the same for every row; the id sequence moves past the last id."""
    table = SQLModel.metadata.tables[table_name]
    given = list(rows[0])
    filled = {column.name: _default(column) for column in table.columns
              if column.name not in given and not column.nullable}
    names = ", ".join(f'"{name}"' for name in [*given, *filled])

    def value(item):
        return json.dumps(item) if isinstance(item, dict | list) else item

    constant = [value(item) for item in filled.values()]
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table_name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([value(row[name]) for name in given] + constant)
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table_name}\"', 'id'), "
                       f'(SELECT max(id) FROM "{table_name}"))')


def organisations(rng: Random) -> tuple[list[dict], list[int]]:
    """300 organisations (30 large, 70 medium, 200 small) in random sectors and boroughs, with
    a weight each for choosing a leader's employer: big organisations employ more leaders."""
    sizes = ["large"] * 30 + ["medium"] * 70 + ["small"] * 200
    found = [
        {"id": i + 1, "name": f"Organisation {i + 1}", "sector": rng.choice(list(SECTORS)),
         "borough": rng.choice(list(BOROUGHS)), "size": size}
        for i, size in enumerate(sizes)
    ]
    return found, [{"large": 40, "medium": 10, "small": 2}[org["size"]] for org in found]
