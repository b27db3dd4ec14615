"""`python -m mailin`: the inbound mail listener (and IMAP poller) until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from core.logconfig import configure_logging
from core.settings import Settings, get_settings
from mailin.service import running


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(settings):
        await stop.wait()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's every SMTP command
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
