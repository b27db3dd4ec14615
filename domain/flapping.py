"""Flapping: what a trigger does once its alert's incident is resolved.

The alert router (`workflows.alerts`) learns of its incident's resolution two ways: it records
the `resolve` it forwards itself (when the policy auto-resolves), so a trigger right behind it
already counts; and the incident tells it of every resolve and reopen (`incident_resolution`),
so a resolution by hand counts too. Then `after_resolution` decides, purely:

- within `[alerts].reopen_window` of an AUTO-resolution: reopen that incident;
- after a resolution by hand, or once the window has passed: open a new incident.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from domain.effects import SendSignal
from domain.models import IncidentState, ResolutionCode, TimelineEntry
from domain.names import INCIDENT_RESOLUTION_SIGNAL, alert_workflow_id

RESOLUTION_SIGNAL = INCIDENT_RESOLUTION_SIGNAL
# Incidents resolved before this release replay without telling their router.
ROUTER_NEWS_PATCH = "alert-router-learns-resolution"


class Resolution(BaseModel):
    """An incident's resolution as its alert router knows it; `resolved` false: reopened."""

    number: str
    resolved: bool
    auto: bool
    at: datetime


class Flap(StrEnum):
    REOPEN = "reopen"
    OPEN_NEW = "open_new"


def after_resolution(resolution: Resolution, now: datetime, window_seconds: float) -> Flap:
    if not resolution.auto or window_seconds <= 0:
        return Flap.OPEN_NEW
    if now - resolution.at <= timedelta(seconds=window_seconds):
        return Flap.REOPEN
    return Flap.OPEN_NEW


def router_news(state: IncidentState, entry: TimelineEntry) -> SendSignal | None:
    """The signal that tells an alert's router its incident was resolved or reopened."""
    if state.alert is None or entry.kind not in ("resolve", "reopen"):
        return None
    resolved = entry.kind == "resolve"
    code = entry.details.get("resolution_code") if resolved else None
    news = Resolution(
        number=state.number,
        resolved=resolved,
        auto=resolved and code == ResolutionCode.AUTO_RESOLVED,
        at=entry.at,
    )
    router = alert_workflow_id(state.alert.source, state.alert.dedup_key)
    return SendSignal(router, RESOLUTION_SIGNAL, news)
