"""What every service call works with: the clients and configuration built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from api.auth import TokenBook
from core.settings import Settings
from domain.policy import Policy
from recordstore import RecordStore


@dataclass
class Services:
    settings: Settings
    policy: Policy
    client: Client
    store: RecordStore
    tokens: TokenBook
