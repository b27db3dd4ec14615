"""The mail service as one unit: the desk with its services, the SMTP listener, the IMAP
poller when configured, and the loop that applies what they take."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog

from api.auth import TokenBook
from api.service.context import Services
from core.settings import Settings, load_directory, load_policy
from core.temporal_client import connect
from mailin.desk import MailDesk
from mailin.imap import ImapAccount, poll_forever
from mailin.listener import start_listener
from recordstore import RecordStore

log = structlog.get_logger()


def _tokens(path: Path) -> TokenBook:
    """Mail needs the tokens file only for the roles it names; none is no roles."""
    return TokenBook.load(path) if path.exists() else TokenBook([])


def imap_account(settings: Settings) -> ImapAccount | None:
    if not settings.imap_host:
        return None
    return ImapAccount(
        host=settings.imap_host,
        port=settings.imap_port,
        user=settings.imap_user or "",
        password=settings.imap_password or "",
        folder=settings.imap_folder,
        ssl=settings.imap_ssl,
    )


@asynccontextmanager
async def running(settings: Settings, *, apply: bool = True) -> AsyncIterator[MailDesk]:
    """The listener on `smtp_host:smtp_port` (and the IMAP poller); `apply` off takes mail
    and leaves it pending (a test's way to stop between the 250 and the apply)."""
    policy = load_policy(settings)
    directory = load_directory(settings, policy)
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate(auto=settings.db_auto_migrate)
    client = await connect(settings, lazy=True)
    services = Services(settings, policy, client, store, _tokens(settings.resolved_tokens_file))
    services.directory = directory
    desk = MailDesk(services)
    limit = policy.email.max_message_bytes
    server = await start_listener(desk, settings.smtp_host, settings.smtp_port, limit)
    tasks = []
    if apply:
        tasks.append(asyncio.create_task(desk.run()))
    if (account := imap_account(settings)) is not None:
        every = settings.imap_poll_seconds
        tasks.append(asyncio.create_task(poll_forever(desk, account, limit, every)))
        log.info("imap poller started", host=account.host, folder=account.folder)
    try:
        yield desk
    finally:
        server.close()
        await server.wait_closed()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.dispose()
