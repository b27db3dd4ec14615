"""A real HTTP server on a local port for adapter tests: a webhook receiver and a vendor.

It records every request and fails on demand. As a vendor (`POST .../tickets`) it opens one
ticket per Idempotency-Key and answers every repeat of a key with that same ticket; any other
request is a webhook delivery and gets 200. A small ASGI app served by uvicorn in the test's
own event loop, so `ActivityEnvironment` and workers in that loop talk to it for real.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from tests.support.apistack import free_port

Scope = dict[str, Any]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    answered: int = 0

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


class HttpStub:
    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Seen] = []
        self.tickets: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> ticket
        self._failures: list[Failure] = []
        self._always: Failure | None = None
        self._stall_seconds = 0.0
        self._released = asyncio.Event()

    # --- what the test asks for -----------------------------------------------------------

    def answer(
        self, times: int, status: int, retry_after: int | None = None, body: str = ""
    ) -> None:
        """Answer the next `times` requests with `status` (and Retry-After, when given)."""
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        self._failures += [Failure(status, headers, body)] * times

    def answer_always(self, status: int, body: str = "") -> None:
        self._always = Failure(status, {}, body)

    def stall_after_create(self, seconds: float) -> None:
        """The first ticket request opens its ticket, then answers only after `seconds`: longer
        than the client waits, so the client never learns of the ticket."""
        self._stall_seconds = seconds

    @property
    def succeeded(self) -> list[Seen]:
        return [seen for seen in self.requests if 200 <= seen.answered < 300]

    # --- the ASGI app ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        seen = Seen(scope["method"], scope["path"], headers, json.loads(raw) if raw else None)
        self.requests.append(seen)
        status, answer_headers, body = await self._answer(seen)
        seen.answered = status
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    *((k.encode(), v.encode()) for k, v in answer_headers.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    async def _answer(self, seen: Seen) -> tuple[int, dict[str, str], str]:
        failure = self._failures.pop(0) if self._failures else self._always
        if failure is not None:
            return failure.status, failure.headers, failure.body or json.dumps({"error": "stub"})
        if seen.method == "POST" and seen.path.endswith("/tickets"):
            return 201, {}, json.dumps(await self._open_ticket(seen))
        return 200, {}, json.dumps({"ok": True})

    async def _open_ticket(self, seen: Seen) -> dict[str, Any]:
        key = seen.key or f"no-key-{len(self.requests)}"
        if key in self.tickets:
            return self.tickets[key]
        number = len(self.tickets) + 1
        ticket = {
            "id": f"VT-{number:04d}",
            "status": "open",
            "url": f"{self.url}/tickets/VT-{number:04d}",
            "reference": (seen.json or {}).get("reference"),
        }
        self.tickets[key] = ticket
        if self._stall_seconds:
            stall, self._stall_seconds = self._stall_seconds, 0.0
            try:
                await asyncio.wait_for(self._released.wait(), stall)
            except TimeoutError:
                pass
        return ticket


@asynccontextmanager
async def http_stub() -> AsyncIterator[HttpStub]:
    stub = HttpStub()
    port = free_port()
    config = uvicorn.Config(
        stub, host="127.0.0.1", port=port, log_config=None, lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    stub.url = f"http://127.0.0.1:{port}"
    try:
        yield stub
    finally:
        stub._released.set()
        server.should_exit = True
        await task
