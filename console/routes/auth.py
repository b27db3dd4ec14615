"""The landing page, sign-in with a token (or an OpenID Connect JWT when configured) and
sign-out."""

from __future__ import annotations

import secrets
from http import HTTPStatus

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import ServicesDep, authenticate
from console import render, session
from console.app import ConsoleRoute
from console.deps import CsrfDep, home_of

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/")
async def landing() -> Response:
    return RedirectResponse("/console/", status_code=HTTPStatus.SEE_OTHER)


@router.get("/console/")
async def console_home(request: Request, services: ServicesDep) -> Response:
    principal = await session.signed_in(request, services)
    target = home_of(principal) if principal else "/console/sign-in"
    return RedirectResponse(target, status_code=HTTPStatus.SEE_OTHER)


@router.get("/console/sign-in")
async def sign_in_form(request: Request, services: ServicesDep) -> Response:
    return render.page(request, "sign_in.html", oidc=services.oidc is not None)


@router.post("/console/sign-in", dependencies=[CsrfDep])
async def sign_in(request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    token = form.get("token")
    principal = None
    if isinstance(token, str) and token.strip():
        principal = await authenticate(services, token.strip())
    if principal is None or not isinstance(token, str):
        return render.page(
            request,
            "sign_in.html",
            status_code=HTTPStatus.UNAUTHORIZED,
            oidc=services.oidc is not None,
            error="That token names nobody here, or it has expired.",
        )
    response = RedirectResponse(home_of(principal), status_code=HTTPStatus.SEE_OTHER)
    # A new CSRF token with the new session: one fixed before sign-in is worth nothing after.
    session.write(request, response, session.Session(secrets.token_urlsafe(32), token.strip()))
    return response


@router.post("/console/sign-out", dependencies=[CsrfDep])
async def sign_out(request: Request, services: ServicesDep) -> Response:
    await session.sign_out(request, services)
    response = RedirectResponse("/console/sign-in", status_code=HTTPStatus.SEE_OTHER)
    session.write(request, response, None)
    return response
