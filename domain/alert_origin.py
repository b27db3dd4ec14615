"""Where an integration's alert came from: the tool, its receiver or integration, its links and
labels. Carried by the alert event, kept on the incident's `alert`, shown in its timeline.

Tools send what they send: everything here is cut to size rather than refused, so a verbose
alert never bounces (Alertmanager drops a notification answered with a 4xx) and the incident's
state stays bounded in bytes.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, field_validator

MAX_LINKS = 20
MAX_LABELS = 64
MAX_TEXT = 1000
MAX_URL = 2000
MAX_DETAILS = 8000


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AlertLink(BaseModel):
    href: str
    text: str = ""

    @field_validator("href")
    @classmethod
    def _href(cls, href: str) -> str:
        return clip(href, MAX_URL)

    @field_validator("text")
    @classmethod
    def _text(cls, text: str) -> str:
        return clip(text, 200)


class AlertOrigin(BaseModel):
    """Filled by `POST /integrations/alertmanager` and `POST /v2/enqueue`; absent for
    `POST /alerts`."""

    tool: str  # alertmanager, grafana, pagerduty-events-v2
    integration: str  # the Alertmanager/Grafana receiver, or the integration key's name
    description: str = ""
    category: str | None = None
    subcategory: str | None = None
    ci: str | None = None
    group: str | None = None  # assignment group for a new incident
    links: list[AlertLink] = []
    labels: dict[str, str] = {}

    @field_validator("description")
    @classmethod
    def _description(cls, text: str) -> str:
        return clip(text, 16_000)

    @field_validator("integration", "category", "subcategory", "ci", "group")
    @classmethod
    def _short(cls, text: str | None) -> str | None:
        return clip(text, 200) if text is not None else None

    @field_validator("links")
    @classmethod
    def _links(cls, links: list[AlertLink]) -> list[AlertLink]:
        unique: dict[str, AlertLink] = {}
        for link in links:
            if link.href and link.href not in unique:
                unique[link.href] = link
        return list(unique.values())[:MAX_LINKS]

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        kept = sorted(labels.items())[:MAX_LABELS]
        return {clip(key, 200): clip(str(value)) for key, value in kept}

    def source_details(self) -> dict[str, object]:
        """What the timeline shows of it."""
        return {
            "tool": self.tool,
            "integration": self.integration,
            "links": [link.model_dump() for link in self.links],
            "labels": self.labels,
        }


def bounded(value: Any) -> Any:
    """Custom details as sent, unless they are too large (or too deep) to carry: then as text."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return "(not representable as JSON)"
    if len(text) <= MAX_DETAILS and _depth(value) <= 16:
        return value
    return clip(text, MAX_DETAILS)


def _depth(value: Any, level: int = 0) -> int:
    if level > 16:
        return level
    if isinstance(value, dict):
        return max((_depth(child, level + 1) for child in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(child, level + 1) for child in value), default=level)
    return level
