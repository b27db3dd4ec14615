"""The listener process killed (SIGKILL) after its 250 and started again: the mail is still
applied, once (issue 15). The first process cannot reach Temporal, so the kill surely lands
between the 250 and the incident; the second, on the real dev server, finishes the job."""

from __future__ import annotations

import asyncio
import smtplib
import sys
from pathlib import Path

from tests.mailin.support import listener, mail_settings, message, outcome, send
from tests.support.apistack import Stack, free_port
from tests.support.processes import Process, child_env


async def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            await asyncio.to_thread(lambda: smtplib.SMTP("127.0.0.1", port, timeout=2).quit())
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_a_mail_acknowledged_by_a_killed_listener_is_applied_once_after_restart(
    stack: Stack, tmp_path: Path
) -> None:
    settings = mail_settings(stack, tmp_path)
    unreachable = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    env = child_env(unreachable) | {
        "INCIDENTFLOW_SMTP_PORT": str(settings.smtp_port),
        "INCIDENTFLOW_TOKENS_FILE": str(settings.resolved_tokens_file),
    }
    process = Process([sys.executable, "-m", "mailin"], env, tmp_path / "mailin.log")
    process.start()
    try:
        await wait_for_port(settings.smtp_port)
        found = message("alice@example.com", "Docking station dead", "No power on the dock.")
        await send(settings.smtp_port, found)  # 250: stored, not yet applied
        await asyncio.sleep(0.5)
    finally:
        process.kill()
    assert (await outcome_now(stack, found["Message-ID"])) == "pending"

    async with listener(settings):
        status, number, _ = await outcome(stack, found["Message-ID"])
        await send(settings.smtp_port, found)  # the MTA retries: nothing new
        await asyncio.sleep(0.5)
    assert status == "applied"
    incident = await stack.ok("GET", f"/incidents/{number}", who="alice")
    assert incident["short_description"] == "Docking station dead"
    mine = await stack.ok("GET", "/incidents?caller=alice&limit=200", who="alice")
    titles = [item["short_description"] for item in mine["items"]]
    assert titles.count("Docking station dead") == 1


async def outcome_now(stack: Stack, message_id: str) -> str:
    from recordstore import mail

    return (await mail.outcome_of(stack.store.database, message_id))[0]
