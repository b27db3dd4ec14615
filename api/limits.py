"""The request-body cap, outermost: an oversize body is a 413 before it is read whole, before
any token is checked, and in the API's one error shape.

Starlette's own RequestBodyLimitMiddleware answers in plain text, and FastAPI turns its error
into a 422 when the body is streamed; this one refuses a declared Content-Length at the door
and cuts a streamed body off at the cap, answering itself.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import too_large_response


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
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
