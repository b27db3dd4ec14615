"""Request bodies over the cap: a 413 before the body is read whole or any token is checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from core.settings import Settings
from tests.support.apistack import Stack

CHUNK = b"x" * 65_536


async def endless(total: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        sent += len(CHUNK)
        yield CHUNK


async def test_a_declared_oversize_body_is_refused_unread_and_unauthenticated(
    stack: Stack,
) -> None:
    cap = Settings().max_body_bytes
    # No token at all, and a Content-Length of 100 MB of which nothing is ever sent: the answer
    # can only come before the body is read.
    url = httpx.URL(str(stack.http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        b"POST /incidents HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {100 * 1024 * 1024}\r\n\r\n".encode()
    )
    await writer.drain()
    head, _, body = (await asyncio.wait_for(reader.read(65_536), 30)).partition(b"\r\n\r\n")
    writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert str(cap).encode() in body


async def test_a_streamed_oversize_body_is_cut_off_at_the_cap(stack: Stack) -> None:
    response = await stack.http.post(
        "/alerts",
        content=endless(100 * 1024 * 1024),
        headers={"Content-Type": "application/json", "Authorization": "Bearer nonsense"},
    )
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


async def test_a_body_under_the_cap_still_gets_its_field_errors(stack: Stack) -> None:
    body = {"short_description": "Big", "caller": "alice", "description": "x" * 1_000_000}
    response = await stack.call("POST", "/incidents", json=body)
    assert response.status_code == 422
    assert [problem["field"] for problem in response.json()["problems"]] == ["description"]
