"""Console sessions signed out: one row per session id until the session would have expired,
so a copied cookie is refused after its owner signs out, whichever replica it reaches."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from recordstore.database import Database
from recordstore.schema import console_sign_outs


async def sign_out(database: Database, session: str, until: datetime) -> None:
    """Refuse `session` until `until`; rows past their time are dropped on the way."""
    async with database.writer.begin() as conn:
        await conn.execute(
            console_sign_outs.delete().where(console_sign_outs.c.until < datetime.now(UTC))
        )
        insert = Database.insert(conn, console_sign_outs).values(session=session, until=until)
        await conn.execute(insert.on_conflict_do_nothing(index_elements=["session"]))


async def signed_out(database: Database, session: str) -> bool:
    query = sa.select(console_sign_outs.c.session).where(console_sign_outs.c.session == session)
    async with database.engine.connect() as conn:
        return (await conn.execute(query)).first() is not None
