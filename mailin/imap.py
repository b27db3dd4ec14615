"""The IMAP mailbox poller, for sites without an MTA route to the listener: every
`imap_poll_seconds` it takes the unseen messages of `imap_folder` (imap-tools), hands each to
the record store, and only then flags it seen, so a crash between the two takes it again (the
same Message-ID is applied once)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from imap_tools import AND, BaseMailBox, MailBox, MailboxLoginError, MailBoxUnencrypted
from imap_tools.consts import MailMessageFlags

from mailin.desk import TRANSIENT, MailDesk

log = structlog.get_logger()
BATCH = 50


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True

    def open(self) -> BaseMailBox:
        box = (
            MailBox(self.host, self.port) if self.ssl else MailBoxUnencrypted(self.host, self.port)
        )
        return box.login(self.user, self.password, initial_folder=self.folder)


def _unseen(account: ImapAccount) -> list[tuple[str, bytes]]:
    with account.open() as box:
        found = box.fetch(AND(seen=False), mark_seen=False, limit=BATCH, bulk=True)
        return [(message.uid or "", message.obj.as_bytes()) for message in found]


def _mark_seen(account: ImapAccount, uids: list[str]) -> None:
    if uids:
        with account.open() as box:
            box.flag(uids, MailMessageFlags.SEEN, True)


async def poll_once(desk: MailDesk, account: ImapAccount, max_bytes: int) -> int:
    """Take what is unseen; returns how many messages were taken (new or not)."""
    messages = await asyncio.to_thread(_unseen, account)
    taken = []
    for uid, raw in messages:
        if len(raw) > max_bytes:
            log.warning("imap message skipped: too large", uid=uid, bytes=len(raw), limit=max_bytes)
        else:
            try:
                await desk.take(raw)
            except TRANSIENT as error:
                log.warning("imap message left unseen: cannot store it", error=repr(error))
                continue
            except ValueError as error:
                log.warning("imap message skipped: unreadable", uid=uid, error=repr(error))
        taken.append(uid)
    await asyncio.to_thread(_mark_seen, account, taken)
    return len(taken)


async def poll_forever(
    desk: MailDesk, account: ImapAccount, max_bytes: int, every_seconds: float
) -> None:
    while True:
        try:
            await poll_once(desk, account, max_bytes)
        except MailboxLoginError as error:
            log.error("imap login refused", host=account.host, user=account.user, error=str(error))
        except OSError as error:
            log.warning("imap server unreachable", host=account.host, error=repr(error))
        await asyncio.sleep(every_seconds)
