"""The e-mail tables on SQLite and PostgreSQL: received once per Message-ID, pending until
settled, sent Message-IDs found by any of a reply's references, attachments per incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.attachments import AttachmentInfo
from recordstore import RecordStore, mail
from recordstore.attachments import AttachmentStore


async def test_inbound_mail_is_taken_once_and_stays_pending_until_settled(
    store_on_each_backend: RecordStore,
) -> None:
    database = store_on_each_backend.database
    assert await mail.receive(database, "<a@x>", "Alice@Example.com", b"raw")
    assert not await mail.receive(database, "<A@x>", "alice@example.com", b"raw again")
    (pending,) = await mail.pending(database)
    assert (pending.message_id, pending.sender, pending.raw) == (
        "<a@x>",
        "alice@example.com",
        b"raw",
    )
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert await mail.received_since(database, "alice@example.com", since) == 1
    await mail.settle(database, pending.digest, mail.APPLIED, "INC0000001", "opened")
    assert await mail.pending(database) == []
    assert await mail.outcome_of(database, "<a@x>") == ("applied", "INC0000001", "opened")


async def test_sent_message_ids_find_their_incident(store_on_each_backend: RecordStore) -> None:
    database = store_on_each_backend.database
    await mail.remember_sent(database, "<s1@desk>", "INC0000007")
    await mail.remember_sent(database, "<s1@desk>", "INC0000007")  # a retried activity
    assert await mail.number_for_sent(database, ["<other@x>", "<s1@desk>"]) == "INC0000007"
    assert await mail.number_for_sent(database, ["<other@x>"]) is None
    assert await mail.number_for_sent(database, []) is None


async def test_attachments_belong_to_one_incident(
    store_on_each_backend: RecordStore, tmp_path: Path
) -> None:
    files = AttachmentStore(store_on_each_backend.database, tmp_path / "files")
    sha = files.put(b"screenshot")
    assert files.put(b"screenshot") == sha and files.read(sha) == b"screenshot"
    info = AttachmentInfo(
        id="a1",
        name="s.png",
        content_type="image/png",
        size=10,
        sha256=sha,
        uploaded_by="alice",
        added_at=datetime.now(UTC),
    )
    assert await files.add("INC0000001", info)
    assert not await files.add("INC0000001", info)
    assert [found.id for found in await files.list("INC0000001")] == ["a1"]
    assert await files.count("INC0000001") == 1
    assert await files.get("INC0000002", "a1") is None
    assert (await files.get("INC0000001", "a1")) == info
