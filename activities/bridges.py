"""Opening the conference bridge of a major incident. The provider is pluggable; the default
makes the meeting URL from the policy's `major.bridge_url_template`."""

from __future__ import annotations

from typing import Protocol

import structlog
from temporalio import activity

from domain import names
from domain.effects import BridgeInfo, BridgeRequest

log = structlog.get_logger()


class BridgeProvider(Protocol):
    async def open(self, request: BridgeRequest) -> str: ...


class TemplateBridgeProvider:
    """A meeting URL per incident from a template such as https://meet.example.com/{number}."""

    def __init__(self, template: str) -> None:
        self._template = template

    async def open(self, request: BridgeRequest) -> str:
        return self._template.format(number=request.number, priority=request.priority)


class BridgeActivities:
    def __init__(self, provider: BridgeProvider) -> None:
        self._provider = provider

    @activity.defn(name=names.OPEN_BRIDGE)
    async def open_bridge(self, request: BridgeRequest) -> BridgeInfo:
        url = await self._provider.open(request)
        log.info("bridge opened", incident=request.number, url=url)
        return BridgeInfo(url=url)
