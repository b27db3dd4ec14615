"""Migrate the record store by hand: what start-up does unless INCIDENTFLOW_DB_AUTO_MIGRATE is off.

python -m recordstore.migrate            # upgrade INCIDENTFLOW_DATABASE_URL to head
python -m recordstore.migrate current    # print the current and the head revisions
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from core.settings import get_settings
from recordstore.database import Database
from recordstore.migrations import COMMAND, current_revision, head_revision


async def _main(url: str, action: str) -> str:
    database = Database(url)
    try:
        if action == "upgrade":
            await database.migrate(auto=True)
        current = await current_revision(database)
    finally:
        await database.dispose()
    return f"current: {current or 'none'}\nhead: {head_revision()}\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Migrate the record store at INCIDENTFLOW_DATABASE_URL (default: the "
        "SQLite file in INCIDENTFLOW_DATA_DIR) to the schema this version needs.",
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=["upgrade", "current"],
        default="upgrade",
        help="upgrade (the default) to head, or show the current and head revisions",
    )
    arguments = parser.parse_args(argv)
    url = get_settings().resolved_database_url
    sys.stdout.write(asyncio.run(_main(url, arguments.action)))


if __name__ == "__main__":
    main()
