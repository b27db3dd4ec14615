"""The console on the API's app: its routes (kept out of the OpenAPI document: they are pages, not
API), its static files and front-end libraries, and the headers every page carries.

A refusal of the service layer shows as a page with the status the API would answer
(`api.errors.status_of`); no session sends the browser to sign in; a form without the
session's CSRF token is a 403 before anything runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from http import HTTPStatus
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.errors import status_of
from api.service.errors import Refused
from console import render, session
from core.settings import Settings

log = structlog.get_logger()
STATIC = Path(__file__).with_name("static")
ASSETS = Path(__file__).with_name("assets") / "node_modules"
# Front-end libraries from npm (console/assets/package.json), each its `dist` folder.
VENDOR = {"chart.js": "chart.js/dist", "htmx": "htmx.org/dist"}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class ConsoleRoute(APIRoute):
    """Maps what a page can meet to pages, not to the API's JSON errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except session.SignInRequired:
                return sign_in_redirect(request)
            except session.CsrfRefused:
                return render.page(
                    request,
                    "error.html",
                    status_code=HTTPStatus.FORBIDDEN,
                    message="This form has expired or did not come from this console. "
                    "Reload the page and try again.",
                )
            except Refused as refused:
                return render.page(
                    request,
                    "error.html",
                    status_code=status_of(type(refused)),
                    message=refused.message,
                )
            except (RPCError, WorkflowUpdateFailedError, TimeoutError) as error:
                # What the API answers as a 503 (api/errors.py), as a page.
                log.warning("console page unavailable", error=str(error))
                return render.page(
                    request,
                    "error.html",
                    status_code=HTTPStatus.SERVICE_UNAVAILABLE,
                    message="The service is not answering just now; please try again shortly.",
                )

        return guarded


def sign_in_redirect(request: Request) -> Response:
    if request.headers.get("HX-Request"):
        # A fragment's poll after the session ended: htmx moves the whole page.
        return Response(
            status_code=HTTPStatus.NO_CONTENT, headers={"HX-Redirect": "/console/sign-in"}
        )
    return RedirectResponse("/console/sign-in", status_code=HTTPStatus.SEE_OTHER)


async def _page_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    path = request.url.path
    if path == "/" or path.startswith("/console"):
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        if path.startswith(("/console/static/", "/console/vendor/")):
            response.headers["Cache-Control"] = "public, max-age=300"
    return response


def install(app: FastAPI, settings: Settings) -> None:
    from console.routes import agent, auth, dashboard, incident, requester

    app.state.console_settings = settings
    assets = settings.console_assets_dir or ASSETS
    for name, folder in VENDOR.items():
        app.mount(
            f"/console/vendor/{name}",
            StaticFiles(directory=assets / folder, check_dir=False),
            name=f"console-vendor-{name}",
        )
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (auth, agent, incident, requester, dashboard):
        app.include_router(module.router)
    app.middleware("http")(_page_headers)
