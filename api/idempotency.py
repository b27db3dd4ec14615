"""Idempotency-Key on every POST and PATCH (contract section 6), for every route at once.

The first request with a key claims it in the record store (recordstore/requests.py) with who
sent it (the principal), what it was (method, path and query, a hash of the JSON body) and,
once answered, the answer. Then, for the same key:

- the same request by the same principal gets the first answer again (status and body, with
  `Idempotent-Replayed: true`); while the first is still being served, it waits for it;
- another request (action, path or body) or another principal is a 422 naming the key.

An answer that a retry may mend (429, 5xx: Temporal busy or down, a stalled worker) is not
kept: the claim is released and the retry acts. A transition retried that way is the same
Update to Temporal, whose id is derived from principal and key (api/service/idempotency.py),
so it lands once even if the first attempt went through late. Requests without a token that
names somebody pass through untouched (the route answers 401).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal
from api.errors import refusal_response, unprocessable_response
from api.service.context import Services
from api.service.errors import Unavailable
from recordstore.requests import (
    Answer,
    Answered,
    Claimed,
    IdempotentRequests,
    InFlight,
    Mismatch,
    RequestIdentity,
)

log = structlog.get_logger()
HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 200
METHODS = frozenset({"POST", "PATCH"})
# A claim never answered (its process died) is taken over after this long: longer than any
# request may take (a transition waits 25 s for its workflow).
LEASE = timedelta(seconds=60)
WAIT_FOR_FIRST_SECONDS = 30.0
RETRY_AFTER_SECONDS = 5


class IdempotencyKeys:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = Headers(scope=scope).get(HEADER) if scope["type"] == "http" else None
        if key is None or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > KEY_MAX_LENGTH:
            problem = f"1 to {KEY_MAX_LENGTH} characters"
            await unprocessable_response(HEADER, problem)(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        principal = await _principal(services, scope)
        if principal is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        identity = RequestIdentity(
            key=key,
            principal=principal.name,
            method=scope["method"],
            target=_target(scope),
            body_hash=_body_hash(body),
        )
        try:
            await _serve(
                self.app, IdempotentRequests(services.store.database), identity, scope, body, send
            )
        except DBAPIError as error:
            log.warning("record store unavailable for idempotency keys", error=str(error.orig))
            unavailable = Unavailable(
                "the record store is unavailable or busy; retry with the same Idempotency-Key",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )
            await refusal_response(unavailable)(scope, _no_more_body, send)


async def _serve(
    app: ASGIApp,
    requests: IdempotentRequests,
    identity: RequestIdentity,
    scope: Scope,
    body: bytes,
    send: Send,
) -> None:
    claim = await _claim_or_wait(requests, identity)
    match claim:
        case Mismatch(reason=reason):
            await unprocessable_response(HEADER, reason)(scope, _no_more_body, send)
        case Answered(answer=answer):
            await _replay(answer, send)
        case InFlight():
            busy = Unavailable(
                "a request with this Idempotency-Key is still being served; retry shortly",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )
            await refusal_response(busy)(scope, _no_more_body, send)
        case Claimed():
            await _first(app, requests, identity, scope, body, send)


async def _claim_or_wait(requests: IdempotentRequests, identity: RequestIdentity) -> Any:
    """Claim the key; if the same request is in flight, wait for its answer (a while)."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST_SECONDS
    while True:
        claim = await requests.claim(identity, datetime.now(UTC), LEASE)
        if not isinstance(claim, InFlight) or asyncio.get_running_loop().time() > deadline:
            return claim
        await asyncio.sleep(0.1)


async def _first(
    app: ASGIApp,
    requests: IdempotentRequests,
    identity: RequestIdentity,
    scope: Scope,
    body: bytes,
    send: Send,
) -> None:
    """Serve the request, capturing the answer; keep it unless a retry may mend it."""
    status: int | None = None
    content_type: str | None = None
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            content_type = Headers(raw=message.get("headers", [])).get("content-type")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        await send(message)

    replayed = False

    async def receive() -> Message:
        nonlocal replayed
        if replayed:
            return await _no_more_body()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        await app(scope, receive, capture)
    finally:
        await _settle(requests, identity.key, status, content_type, b"".join(chunks))


async def _settle(
    requests: IdempotentRequests,
    key: str,
    status: int | None,
    content_type: str | None,
    body: bytes,
) -> None:
    """Keep the answer, or release the claim. The client has its answer already: a record
    store that fails now only leaves the claim to its lease."""
    try:
        if status is not None and _keep(status):
            await requests.answer(key, Answer(status, content_type, body), datetime.now(UTC))
        else:
            await requests.release(key)
    except DBAPIError as error:
        log.warning("idempotency key not settled", key=key, error=str(error.orig))


def _keep(status: int) -> bool:
    return status < HTTPStatus.INTERNAL_SERVER_ERROR and status != HTTPStatus.TOO_MANY_REQUESTS


async def _replay(answer: Answer, send: Send) -> None:
    headers = [
        (b"idempotent-replayed", b"true"),
        (b"content-length", str(len(answer.body)).encode()),
    ]
    if answer.content_type:
        headers.append((b"content-type", answer.content_type.encode()))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _principal(services: Services, scope: Scope) -> Principal | None:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    principal = services.tokens.authenticate(token.strip())
    if principal is None and services.oidc is not None:
        principal = await services.oidc.authenticate(token.strip())
    return principal


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _no_more_body() -> Message:
    return {"type": "http.disconnect"}


def _target(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    path: str = scope["path"]
    return path + (f"?{query}" if query else "")


def _body_hash(body: bytes) -> str:
    """The same JSON, however spaced or ordered, is the same request."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()
