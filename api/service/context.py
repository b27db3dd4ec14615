"""What every service call works with: the clients and configuration built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client

from api.auth import TokenBook
from api.oidc import OidcVerifier
from core.settings import Settings
from domain.cis import Catalogue
from domain.directory import Directory
from domain.incident_models import Catalogue as ModelCatalogue
from domain.policy import Policy
from domain.replies import ReplyTemplate
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
    cis: Catalogue = field(default_factory=Catalogue)  # the CI catalogue (contract 15)
    replies: dict[str, ReplyTemplate] = field(default_factory=dict)  # by name
    models: ModelCatalogue = field(default_factory=lambda: ModelCatalogue({}, {}))
