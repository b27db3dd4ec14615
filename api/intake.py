"""What every request passes before the app, in one place: the body-size cap and text that can
be stored at all.

- A body over the cap is a 413 before it is read whole and before any token is checked: a
  declared Content-Length is refused at the door, a streamed body is cut off at the cap.
  (Starlette's RequestBodyLimitMiddleware answers in plain text, and FastAPI turns its error
  into a 422 when the body is streamed.)
- A JSON body holding an unpaired UTF-16 surrogate (`"\\ud800"`) is a 422 naming the field:
  Python accepts such a string, but no UTF-8 encoder does, so it would fail later, in a
  record write or a Temporal payload, as a 500.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import too_large_response, unprocessable_response
from domain.bounds import unpaired_surrogate_at

UNPAIRED_SURROGATE = "contains an unpaired UTF-16 surrogate: not valid Unicode text"


class RequestIntake:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
        if _is_json(headers.get("content-type", "")):
            await self._json(scope, receive, send)
        else:
            await self._streamed(scope, receive, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the (capped) body once, check its text, then hand the same bytes on."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await too_large_response(self.max_bytes)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        field = _unpaired_surrogate_at(body)
        if field is not None:
            await unprocessable_response(field, UNPAIRED_SURROGATE)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # what comes after the body: a disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            # Past the cap the app is told the client went away (it stops reading and answers
            # nothing that reaches the wire): the 413 is ours, sent here, once.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    refused = True
                    await too_large_response(self.max_bytes)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, watched_send)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _unpaired_surrogate_at(body: bytes) -> str | None:
    """Where the JSON body holds an unpaired surrogate, if it does. A body that is not JSON
    passes: FastAPI answers that with its own 422."""
    if b"\\u" not in body:  # a surrogate in JSON text can only come as an escape
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return unpaired_surrogate_at(document)
