"""Schema migrations of the record store: Alembic's env.py and revisions (versions/) live in this
package, and `migrate` runs them, at start-up and from `python -m recordstore.migrate`.

`migrate(database)` brings any database to the head revision: an empty one is built from
scratch; one made by v0.1.0 (its tables, no alembic_version) is stamped as the baseline, not
recreated; one at an older revision is upgraded. API and worker may start together: the
migration runs in one write transaction that holds PostgreSQL's advisory lock or SQLite's
write lock (BEGIN IMMEDIATE), so the second one waits and then finds the schema at head.

Nothing here reads the environment: the caller passes the database (see env.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from recordstore.schema import (
    INCIDENT_COUNTER,
    INCIDENTS_FTS,
    INCIDENTS_SEARCH_INDEX,
    KNOWN_ERRORS_FTS,
    counters,
)

if TYPE_CHECKING:
    from recordstore.database import Database

SCRIPTS = Path(__file__).resolve().parent
BASELINE = "0001"
# The tables v0.1.0's metadata.create_all made: together, without alembic_version, they are
# the baseline revision.
V0_1_0_TABLES = frozenset(
    {
        "counters",
        "idempotency_keys",
        "incidents",
        "timeline_entries",
        "known_errors",
        "problems",
        "vendor_tickets",
    }
)
# Serialises concurrent migrations (API and worker starting together) on PostgreSQL.
SCHEMA_LOCK_ID = 0x1C1DF10
COMMAND = "python -m recordstore.migrate"


class SchemaNotAtHead(RuntimeError):
    """The database needs a migration and INCIDENTFLOW_DB_AUTO_MIGRATE is off."""

    def __init__(self, current: str, head: str) -> None:
        super().__init__(
            f"the record store's schema is at revision {current}, this version needs {head}: "
            f"run `{COMMAND}` (with the same INCIDENTFLOW_DATABASE_URL), or start with "
            "INCIDENTFLOW_DB_AUTO_MIGRATE=true"
        )
        self.current, self.head = current, head


class UnknownSchema(RuntimeError):
    """Some of the record store's tables exist, but no revision says how they came to be."""


def include_object(
    item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """What autogenerate compares: the tables of recordstore/schema.py. The KEDB's and the
    incidents' search indexes (FTS5 tables on SQLite, GIN expression indexes on PostgreSQL)
    are written by hand in the revisions and have no counterpart in the metadata."""
    if name is None:
        return True
    by_hand = name.startswith((KNOWN_ERRORS_FTS, INCIDENTS_FTS))
    return not (by_hand or name in ("ix_known_errors_search", INCIDENTS_SEARCH_INDEX))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config


def head_revision() -> str:
    head: str | None = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def migrate(database: Database, *, auto: bool = True) -> None:
    """Bring the schema to head (or, with `auto` off, refuse unless it is there already)."""
    sqlite_file = database.sqlite_file
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    async with database.writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_ID)))
        await conn.run_sync(_upgrade, auto)
        seed = database.insert(conn, counters).values(name=INCIDENT_COUNTER, value=0)
        await conn.execute(seed.on_conflict_do_nothing(index_elements=[counters.c.name]))


async def current_revision(database: Database) -> str | None:
    """The revision the database is stamped with; None when it has none (yet)."""
    if database.sqlite_file is not None and not database.sqlite_file.exists():
        return None  # and connecting would create the file
    async with database.engine.connect() as conn:
        stamped: str | None = await conn.run_sync(_stamped)
        return stamped


def _stamped(connection: Connection) -> str | None:
    revision: str | None = MigrationContext.configure(connection).get_current_revision()
    return revision


def _upgrade(connection: Connection, auto: bool) -> None:
    head = head_revision()
    current = _stamped(connection)
    unstamped_v0_1_0 = current is None and _has_v0_1_0_tables(connection)
    if current == head:
        return
    if not auto:
        found = current or ("none (v0.1.0 tables)" if unstamped_v0_1_0 else "none (empty)")
        raise SchemaNotAtHead(found, head)
    config = alembic_config()
    config.attributes["connection"] = connection
    if unstamped_v0_1_0:
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")


def _has_v0_1_0_tables(connection: Connection) -> bool:
    present = V0_1_0_TABLES & set(sa.inspect(connection).get_table_names())
    if present and present != V0_1_0_TABLES:
        missing = ", ".join(sorted(V0_1_0_TABLES - present))
        raise UnknownSchema(
            f"the record store has some of its tables but not {missing}, and no alembic_version"
            ": it was not made by incidentflow v0.1.0 or later; fix it by hand"
        )
    return bool(present)
