"""The IMAP mailbox poller against a real Dovecot (Debian's dovecot-imapd) that the test
starts with its own configuration: mail appended to the mailbox opens an incident, the same
message twice is applied once, and what was taken is flagged seen."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import AND, MailBoxUnencrypted

from tests.mailin.support import listener, mail_settings, message, outcome
from tests.support.apistack import Stack, free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "desk@example.com", "imap-test-password"
NOBODY = 65534


@dataclass(frozen=True)
class Imap:
    port: int

    def box(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port).login(USER, PASSWORD)


def dovecot_config(root: Path, port: int) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={NOBODY} gid={NOBODY} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture
def imap() -> Iterator[Imap]:
    assert Path(DOVECOT).exists(), "dovecot is not installed: apt-get install dovecot-imapd"
    # Not under pytest's tmp_path: its parents are 0700, and Dovecot's auth and mail processes
    # run as the dovecot and nobody users.
    root = Path(tempfile.mkdtemp(prefix="incidentflow-dovecot-"))
    root.chmod(0o755)
    for name in ("run", "state", "home"):
        (root / name).mkdir()
    shutil.chown(root / "home", NOBODY, NOBODY)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    (root / "dovecot.conf").write_text(dovecot_config(root, port))
    server = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])
    found = Imap(port)
    for _ in range(100):
        try:
            with found.box():
                break
        except Exception:
            if server.poll() is not None:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                raise AssertionError(f"dovecot did not start: {log}") from None
            time.sleep(0.1)
    yield found
    server.terminate()
    server.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


async def test_mail_in_the_mailbox_opens_an_incident_once(
    stack: Stack, tmp_path: Path, imap: Imap
) -> None:
    first = message("alice@example.com", "Scanner offline", "The scanner on floor 2 is offline.")
    with imap.box() as box:
        box.append(first.as_bytes())
        box.append(first.as_bytes())  # delivered twice: one incident all the same
    settings = mail_settings(stack, tmp_path).model_copy(
        update={
            "imap_host": "127.0.0.1",
            "imap_port": imap.port,
            "imap_ssl": False,
            "imap_user": USER,
            "imap_password": PASSWORD,
            "imap_poll_seconds": 0.2,
        }
    )
    async with listener(settings):
        status, number, _ = await outcome(stack, first["Message-ID"])
        assert status == "applied"
        reply = message("alice@example.com", f"Re: [{number}] Scanner", "Still offline today.")
        with imap.box() as box:
            box.append(reply.as_bytes())
        assert (await outcome(stack, reply["Message-ID"]))[:2] == ("applied", number)
        await asyncio.sleep(0.5)

    incident = await stack.ok("GET", f"/incidents/{number}", who="alice")
    assert incident["channel"] == "email" and incident["short_description"] == "Scanner offline"
    mine = await stack.ok("GET", "/incidents?caller=alice&limit=200", who="alice")
    assert [i["short_description"] for i in mine["items"]].count("Scanner offline") == 1
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert [e["details"]["text"] for e in timeline if e["kind"] == "comment"] == [
        "Still offline today."
    ]
    with imap.box() as box:
        assert list(box.fetch(AND(seen=False), mark_seen=False)) == []
