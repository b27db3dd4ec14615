"""What every service call works with: the clients and configuration built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from api.auth import TokenBook
from api.oidc import OidcVerifier
from core.settings import Settings
from domain.directory import Directory
from domain.incident_models import Catalogue
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
    models: Catalogue = field(default_factory=lambda: Catalogue({}, {}))
