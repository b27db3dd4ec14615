"""Annotated dependencies: the services built once in the lifespan, and the caller's principal."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal, Role
from api.service.context import Services
from api.service.errors import Forbidden, Unauthorized


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
_bearer = HTTPBearer(auto_error=False, description="a token from the tokens file")


def current_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = services.tokens.authenticate(credentials.credentials)
    if principal is None:
        raise Unauthorized("unknown or invalid bearer token")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets through principals holding one of `roles` (admins always)."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has(*roles):
            allowed = ", ".join(role.value for role in (*roles, Role.ADMIN))
            raise Forbidden(f"{principal.name} may not do this; it needs one of: {allowed}")
        return principal

    return check
