"""Attachments: content-addressed files in a directory, and one record-store row per file
attached to an incident (contract 13). Workflow state never holds the bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import sqlalchemy as sa

from domain.attachments import AttachmentInfo
from recordstore.database import Database
from recordstore.schema import attachments

COLUMNS = [column for column in attachments.c if column.name != "number"]


class AttachmentStore:
    def __init__(self, database: Database, directory: Path) -> None:
        self.database = database
        self.directory = directory

    def path_of(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Write the bytes once per content (atomically: a crash leaves no half file)."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_of(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
        return sha256

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()

    async def add(self, number: str, info: AttachmentInfo) -> bool:
        """Record the file on the incident; False when this id is recorded already."""
        async with self.database.writer.begin() as conn:
            insert = Database.insert(conn, attachments).values(number=number, **info.model_dump())
            result = await conn.execute(insert.on_conflict_do_nothing(index_elements=["id"]))
        return bool(result.rowcount)

    async def count(self, number: str) -> int:
        query = sa.select(sa.func.count()).where(attachments.c.number == number)
        async with self.database.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def list(self, number: str) -> list[AttachmentInfo]:
        query = (
            sa.select(*COLUMNS)
            .where(attachments.c.number == number)
            .order_by(attachments.c.added_at, attachments.c.id)
        )
        async with self.database.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [AttachmentInfo.model_validate(dict(row)) for row in rows]

    async def get(self, number: str, attachment_id: str) -> AttachmentInfo | None:
        """Only an attachment of incident `number`: another incident's id is not found."""
        query = sa.select(*COLUMNS).where(
            attachments.c.number == number, attachments.c.id == attachment_id
        )
        async with self.database.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else AttachmentInfo.model_validate(dict(row))
