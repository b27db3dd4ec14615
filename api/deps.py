"""Annotated dependencies: the services built once in the lifespan, the caller's principal, and
that principal once the permissions table admits it to the endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import permissions, query_params
from api.auth import Principal
from api.service import people
from api.service.context import Services
from api.service.errors import Unauthorized


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
_bearer = HTTPBearer(
    auto_error=False, description="a token from the tokens file, or an OpenID Connect JWT"
)


async def current_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = await authenticate(services, credentials.credentials)
    if principal is None:
        raise Unauthorized("unknown or invalid bearer token")
    return principal


async def authenticate(services: Services, token: str) -> Principal | None:
    """Who a token names: the tokens file, else an OpenID Connect JWT; groups from the
    directory. The web console resolves its session's token here too."""
    principal = services.tokens.authenticate(token)
    if principal is None and services.oidc is not None:
        principal = await services.oidc.authenticate(token)
    return None if principal is None else people.in_directory(principal, services.directory)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


@query_params.checks_query_params
async def authorized(request: Request, principal: PrincipalDep) -> Principal:
    """The caller, if `api/permissions.py` admits their roles to the endpoint being served;
    then a query parameter the endpoint does not take is a 422."""
    endpoint = (request.method, request.scope["route"].path)
    permissions.authorize(principal, permissions.TABLE[endpoint])
    query_params.check(request)
    return principal


AuthorizedDep = Annotated[Principal, Depends(authorized)]
