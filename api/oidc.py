"""OpenID Connect bearer tokens (contract 11): production identity beside the tokens file.

A JWT is accepted only when its signature checks out against the issuer's JWKS with an
allowed asymmetric algorithm (never `none`, never an HMAC keyed with a public key), and it
is unexpired, for our audience and from our issuer: PyJWT does each check. The person comes
from a configurable claim; roles and groups from claims (a dotted path, so Keycloak's
`realm_access.roles` works) or from the directory.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import structlog

from api.auth import Principal, Role
from core.settings import Settings
from domain.directory import Directory

log = structlog.get_logger()
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})
# An unknown key id makes us fetch the JWKS again (the issuer rotated its keys), but not more
# often than this: a flood of made-up key ids must not become a flood of fetches.
REFETCH_AFTER_S = 30.0


class OidcVerifier:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, directory: Directory) -> None:
        if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url):
            raise ValueError("OIDC needs issuer, audience and JWKS URL")
        unsafe = set(settings.oidc_algorithms) - ASYMMETRIC
        if unsafe:
            raise ValueError(f"INCIDENTFLOW_OIDC_ALGORITHMS: not allowed: {sorted(unsafe)}")
        self.settings = settings
        self.http = http
        self.directory = directory
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -REFETCH_AFTER_S
        self._lock = asyncio.Lock()

    async def authenticate(self, token: str) -> Principal | None:
        """The principal a valid token names, or None (the API answers 401)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        algorithm = header.get("alg")
        if algorithm not in self.settings.oidc_algorithms:
            log.info("oidc token refused", reason="algorithm", alg=algorithm)
            return None
        key = await self._key(str(header.get("kid", "")))
        if key is None:
            log.info("oidc token refused", reason="unknown key id", kid=header.get("kid"))
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self.settings.oidc_audience,
                issuer=self.settings.oidc_issuer,
                leeway=self.settings.oidc_leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            log.info("oidc token refused", reason=type(error).__name__)
            return None
        return self._principal(claims, token)

    def _principal(self, claims: dict[str, Any], token: str) -> Principal | None:
        name = claim(claims, self.settings.oidc_name_claim)
        if not isinstance(name, str) or not name:
            return None
        if self.settings.oidc_roles_from == "directory":
            person = self.directory.people.get(name)
            wanted: Any = person.roles if person else []
        else:
            wanted = claim(claims, self.settings.oidc_roles_claim) or []
        known = {role.value for role in Role}
        roles = frozenset(Role(r) for r in wanted if isinstance(r, str) and r in known)
        if not roles:
            log.info("oidc token refused", reason="no incidentflow role", person=name)
            return None
        return Principal(name=name, roles=roles, token=token, groups=self._groups(claims))

    def _groups(self, claims: dict[str, Any]) -> frozenset[str] | None:
        """The groups claim when one is configured (Keycloak's full paths lose their '/');
        None leaves the groups to the directory."""
        if not self.settings.oidc_groups_claim:
            return None
        found = claim(claims, self.settings.oidc_groups_claim) or []
        if not isinstance(found, list):
            return frozenset()
        return frozenset(g.rsplit("/", 1)[-1] for g in found if isinstance(g, str) and g)

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys and time.monotonic() - self._fetched_at >= REFETCH_AFTER_S:
            async with self._lock:
                if kid not in self._keys and time.monotonic() - self._fetched_at >= REFETCH_AFTER_S:
                    await self._fetch()
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            response = await self.http.get(str(self.settings.oidc_jwks_url), timeout=5.0)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
            log.warning("oidc jwks unavailable", url=self.settings.oidc_jwks_url, error=str(error))
            return
        self._keys = {str(key.key_id or ""): key for key in keys}


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by dotted path: `preferred_username`, `realm_access.roles`."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
