"""Attachments through mail and the API (issue 15): stored outside the workflow, listed on the
incident and in its timeline, downloadable by whoever may read the incident, and by no one
else (404)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.mailin.support import listener, mail_settings, message, outcome, send
from tests.support.apistack import Stack

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest_asyncio.fixture
async def desk(stack: Stack, tmp_path: Path) -> AsyncIterator[tuple[Stack, int]]:
    settings = mail_settings(stack, tmp_path)
    async with listener(settings):
        yield stack, settings.smtp_port


async def test_a_mailed_screenshot_round_trips_with_access_checks(
    desk: tuple[Stack, int],
) -> None:
    stack, port = desk
    found = message(
        "alice@example.com",
        "Error dialog on start",
        "See the screenshot.",
        attachments=[("screen shot.png", "image/png", PNG)],
    )
    await send(port, found)
    status, number, note = await outcome(stack, found["Message-ID"])
    assert status == "applied" and "attached screen shot.png" in note

    (listed,) = await stack.ok("GET", f"/incidents/{number}/attachments", who="alice")
    assert listed["name"] == "screen shot.png" and listed["content_type"] == "image/png"
    assert listed["size"] == len(PNG) and listed["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert listed["uploaded_by"] == "alice" and listed["source"] == "email"
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline", who="alice")
    (entry,) = [e for e in timeline if e["kind"] == "attachment_added"]
    assert entry["details"]["sha256"] == listed["sha256"] and entry["actor"] == "alice"

    path = f"/incidents/{number}/attachments/{listed['id']}"
    for who in ("alice", "sam"):
        got = await stack.call("GET", path, who=who)
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"].startswith(
            'attachment; filename="screen shot.png"'
        )
    assert (await stack.call("GET", path, who="bob")).status_code == 404
    assert (
        await stack.call("GET", f"/incidents/{number}/attachments", who="bob")
    ).status_code == 404


async def test_an_upload_through_the_api_and_no_fetching_across_incidents(
    stack: Stack, caller: str
) -> None:
    mine = await stack.ok(
        "POST",
        "/incidents",
        who="alice",
        status=201,
        json={"short_description": "Phishing mail received"},
    )
    other = await stack.ok(
        "POST", "/incidents", who="bob", status=201, json={"short_description": "Bob's laptop"}
    )
    files = {"file": ("phish.eml", b"From: evil@example.net\r\n\r\nclick", "message/rfc822")}
    added = await stack.ok(
        "POST", f"/incidents/{mine['number']}/attachments", who="alice", status=201, files=files
    )
    assert added["name"] == "phish.eml" and added["uploaded_by"] == "alice"
    assert added["content_type"] == "message/rfc822"
    # Bob may not add to, list or fetch from alice's incident; nor through his own number.
    refused = await stack.call(
        "POST", f"/incidents/{mine['number']}/attachments", who="bob", files=files
    )
    assert refused.status_code == 404
    across = f"/incidents/{other['number']}/attachments/{added['id']}"
    assert (await stack.call("GET", across, who="bob")).status_code == 404
    assert (await stack.call("GET", across, who="sam")).status_code == 404
    got = await stack.call("GET", f"/incidents/{mine['number']}/attachments/{added['id']}")
    assert got.status_code == 200 and got.content.endswith(b"click")


async def test_attachment_caps_answer_422_naming_the_file(stack: Stack) -> None:
    created = await stack.ok(
        "POST", "/incidents", who="alice", status=201, json={"short_description": "Too big"}
    )
    cap = 3 * 1024 * 1024  # [email].max_attachment_bytes default, under the 4 MiB body cap
    files = {"file": ("big.bin", b"\0" * (cap + 1), "application/octet-stream")}
    refused = await stack.call(
        "POST", f"/incidents/{created['number']}/attachments", who="alice", files=files
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["field"] == "file"
    listed = await stack.ok("GET", f"/incidents/{created['number']}/attachments", who="alice")
    assert listed == []
