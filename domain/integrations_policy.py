"""The policy's `[integrations.*]` tables: how monitoring tools' payloads become incidents.

[integrations.alertmanager]          # also Grafana's webhook contact point
group_by = "alert"                   # one incident per alert fingerprint; "group": per groupKey
short_description = ["annotations.summary", "labels.alertname"]   # first one present wins
description = ["annotations.description"]
severity = ["labels.severity"]       # a key of [alerts].severity, or one of severity_aliases
service = ["labels.service"]
category = ["labels.category"]
subcategory = ["labels.subcategory"]  # with category, what an incident model matches on
ci = ["labels.instance"]
group = []                           # an assignment group, e.g. ["labels.team"]
default_severity = "error"           # when no source gives a known severity
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from domain.calendar import TWENTY_FOUR_SEVEN, parse_duration

Sources = tuple[str, ...]
SOURCE_KINDS = ("labels.", "annotations.")


class AlertmanagerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group_by: Literal["alert", "group"] = "alert"
    short_description: Sources = ("annotations.summary", "annotations.title", "labels.alertname")
    description: Sources = ("annotations.description", "annotations.message")
    severity: Sources = ("labels.severity",)
    service: Sources = ("labels.service",)
    category: Sources = ("labels.category",)
    subcategory: Sources = ("labels.subcategory",)
    ci: Sources = ("labels.instance",)
    group: Sources = ()
    default_severity: str = "error"
    severity_aliases: dict[str, str] = {
        "page": "critical",
        "high": "error",
        "major": "error",
        "medium": "warning",
        "minor": "warning",
        "low": "info",
        "none": "info",
    }

    @field_validator("short_description", "description", "severity", "service", "category",
                     "subcategory", "ci", "group")  # fmt: skip
    @classmethod
    def _sources(cls, sources: Sources) -> Sources:
        for source in sources:
            if not source.startswith(SOURCE_KINDS) or source.endswith("."):
                raise ValueError(f"'{source}': write labels.NAME or annotations.NAME")
        return sources


class IntegrationsPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alertmanager: AlertmanagerPolicy = AlertmanagerPolicy()


def severity_for(
    wanted: str | None, known: Mapping[str, object], aliases: Mapping[str, str], default: str
) -> str:
    """A severity the policy knows: the tool's own word, its alias, the default, or the
    policy's first severity (so an integration's alert is never refused for its wording)."""
    for candidate in (wanted, aliases.get((wanted or "").lower()), default):
        if candidate is None:
            continue
        for key in known:
            if key.lower() == candidate.lower():
                return key
    return next(iter(known))


def window_seconds(window: str) -> float:
    """`[alerts].reopen_window` in seconds, round the clock; "0s" (or "0") is 0: never reopen."""
    if isinstance(window, str) and re.fullmatch(r"0+(\.0*)?[smhd]?", window.strip()):
        return 0.0
    return parse_duration(window, TWENTY_FOUR_SEVEN)
