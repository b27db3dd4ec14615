"""Annotated dependencies: the services built once in the lifespan, and the caller's principal."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.auth import Principal, Role, TokenBook
from api.errors import ApiError
from api.oidc import OidcVerifier
from core.settings import Settings
from domain.directory import Directory
from domain.policy import Policy
from recordstore import RecordStore


@dataclass
class Services:
    settings: Settings
    policy: Policy
    client: Client
    store: RecordStore
    tokens: TokenBook
    directory: Directory = field(default_factory=Directory)
    oidc: OidcVerifier | None = None


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
        raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>'")
    principal = services.tokens.authenticate(credentials.credentials)
    if principal is None and services.oidc is not None:
        principal = await services.oidc.authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(401, "unknown or invalid bearer token")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets through principals holding one of `roles` (admins always)."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has(*roles):
            allowed = ", ".join(role.value for role in (*roles, Role.ADMIN))
            raise ApiError(403, f"{principal.name} may not do this; it needs one of: {allowed}")
        return principal

    return check
