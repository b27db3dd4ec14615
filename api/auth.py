"""Bearer tokens mapped to principals with roles (what each role may do: `api/permissions.py`)."""

from __future__ import annotations

import hmac
import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from api import integration_keys
from domain.messages import summary


class Role(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    MANAGER = "manager"
    AUTOMATION = "automation"
    ADMIN = "admin"


class Principal(BaseModel):
    name: str = Field(min_length=1)
    roles: frozenset[Role] = Field(min_length=1)
    token: str = Field(min_length=16, repr=False)
    # The directory groups the person works in; None when no directory is configured (then an
    # agent works every group's incidents, as before contract 11).
    groups: frozenset[str] | None = None

    def has(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or bool(self.roles & set(roles))

    @property
    def requester_only(self) -> bool:
        """A requester with no other role sees and touches only incidents they are the caller of."""
        return not self.has(Role.AGENT, Role.MANAGER, Role.AUTOMATION)


class TokenFileError(ValueError):
    """The tokens file is unusable; the message names the file and the problem."""


class TokenBook:
    def __init__(
        self,
        principals: list[Principal],
        integrations: list[integration_keys.IntegrationKey] | None = None,
    ) -> None:
        self._principals = principals
        self._integrations = integrations or []

    @classmethod
    def load(cls, path: Path) -> TokenBook:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise TokenFileError(f"{path}: {error}") from None
        principals = [
            _principal(path, index, entry) for index, entry in enumerate(raw.get("principal", []))
        ]
        holders: dict[str, str] = {}
        for principal in principals:
            if (holder := holders.setdefault(principal.token, principal.name)) != principal.name:
                # Which of them would a request be? Refuse rather than pick one.
                raise TokenFileError(f"{path}: {holder} and {principal.name} share a token")
        try:
            integrations = integration_keys.parse(path, raw)
        except ValueError as error:
            raise TokenFileError(str(error)) from None
        return cls(principals, integrations)

    def roles_of(self, name: str) -> frozenset[Role]:
        """The roles the tokens file gives `name` (for mail, which comes without a token)."""
        return frozenset(role for p in self._principals if p.name == name for role in p.roles)

    def authenticate(self, token: str) -> Principal | None:
        """Compare against every token, in constant time each, so timing tells nothing."""
        found = None
        for principal in self._principals:
            if hmac.compare_digest(principal.token.encode(), token.encode()):
                found = principal
        return found

    def integration(self, key: str) -> integration_keys.IntegrationKey | None:
        """The `[[integration]]` whose key this is (PagerDuty's `routing_key`)."""
        return integration_keys.find(self._integrations, key)


def _principal(path: Path, index: int, entry: object) -> Principal:
    try:
        return Principal.model_validate(entry)
    except ValidationError as error:
        # Without the input values: a rejected token is still somebody's secret.
        problems = summary(error, "entry")
        raise TokenFileError(f"{path}: principal {index + 1}: {problems}") from None
