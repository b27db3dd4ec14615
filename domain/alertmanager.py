"""Prometheus Alertmanager's webhook (`version` "4") and Grafana's webhook contact point
(`version` "1"), as those tools send them, turned into alert events for the router.

Formats: prometheus.io/docs/alerting/latest/configuration/#webhook_config and Grafana's
"Configure the webhook notifier" page. Fields a tool adds later are accepted and ignored;
a field of the wrong type is refused (422 naming it).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.alert_origin import AlertLink, AlertOrigin, bounded, clip
from domain.integrations_policy import AlertmanagerPolicy, severity_for
from domain.policy import Policy
from domain.relations import AlertEvent

MAX_ALERTS = 1000
MAX_KEY = 200


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class WebhookAlert(Open):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    startsAt: datetime | None = None  # noqa: N815 - the tools' own field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = ""
    # Grafana's additions
    dashboardURL: str = ""  # noqa: N815
    panelURL: str = ""  # noqa: N815
    silenceURL: str = ""  # noqa: N815
    imageURL: str = ""  # noqa: N815
    values: dict[str, Any] | None = None
    valueString: str = ""  # noqa: N815


class WebhookPayload(Open):
    """One notification: a group of alerts that share the route's group labels."""

    version: Literal["4", "1"] = Field(description='"4": Alertmanager; "1": Grafana')
    status: Literal["firing", "resolved"]
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS)
    receiver: str = ""
    groupKey: str = ""  # noqa: N815
    groupLabels: dict[str, str] = {}  # noqa: N815
    commonLabels: dict[str, str] = {}  # noqa: N815
    commonAnnotations: dict[str, str] = {}  # noqa: N815
    externalURL: str = ""  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    # Grafana's additions
    orgId: int | None = None  # noqa: N815
    state: str | None = None
    title: str | None = None
    message: str | None = None

    @property
    def tool(self) -> str:
        return "grafana" if self.version == "1" else "alertmanager"


def pick(
    sources: tuple[str, ...], labels: dict[str, str], annotations: dict[str, str]
) -> str | None:
    """The first of `labels.NAME` / `annotations.NAME` that is present and not blank."""
    for source in sources:
        kind, _, name = source.partition(".")
        value = (labels if kind == "labels" else annotations).get(name, "")
        if value.strip():
            return value.strip()
    return None


def events_from(payload: WebhookPayload, policy: Policy, now: datetime) -> list[AlertEvent]:
    mapping = policy.integrations.alertmanager
    if mapping.group_by == "group":
        return [_group_event(payload, mapping, policy, now)]
    return [_alert_event(payload, alert, mapping, policy, now) for alert in payload.alerts]


def _source(payload: WebhookPayload) -> str:
    receiver = clip(payload.receiver.strip(), 100)
    return f"{payload.tool}/{receiver}" if receiver else payload.tool


def _alert_event(
    payload: WebhookPayload,
    alert: WebhookAlert,
    mapping: AlertmanagerPolicy,
    policy: Policy,
    now: datetime,
) -> AlertEvent:
    labels, annotations = alert.labels, alert.annotations
    key = alert.fingerprint.strip() or _digest(json.dumps(sorted(labels.items())))[:16]
    if len(key) > MAX_KEY:  # it names a workflow: Temporal caps ids at 1,000 bytes
        key = _digest(key)
    details: dict[str, Any] = {"status": alert.status}
    for name, value in (("starts_at", alert.startsAt), ("ends_at", alert.endsAt)):
        if value is not None and value.year > 1:  # "0001-01-01T00:00:00Z": not set
            details[name] = value.isoformat()
    if alert.values:
        details["values"] = dict(list(alert.values.items())[:20])
    elif alert.valueString:
        details["values"] = clip(alert.valueString)
    return _event(
        payload, mapping, policy, now, key, alert.status, labels, annotations, [alert], details
    )


def _group_event(
    payload: WebhookPayload, mapping: AlertmanagerPolicy, policy: Policy, now: datetime
) -> AlertEvent:
    labels = payload.commonLabels or payload.groupLabels
    annotations = payload.commonAnnotations
    key = _digest(payload.groupKey or json.dumps(sorted(payload.groupLabels.items())))
    firing = sum(alert.status == "firing" for alert in payload.alerts)
    details = {
        "status": payload.status,
        "firing": firing,
        "resolved": len(payload.alerts) - firing,
        "truncated_alerts": payload.truncatedAlerts,
        "group_labels": payload.groupLabels,
    }
    return _event(
        payload, mapping, policy, now, key, payload.status, labels, annotations,
        payload.alerts, details,
    )  # fmt: skip


def _event(
    payload: WebhookPayload,
    mapping: AlertmanagerPolicy,
    policy: Policy,
    now: datetime,
    key: str,
    status: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    alerts: list[WebhookAlert],
    details: dict[str, Any],
) -> AlertEvent:
    summary = (
        pick(mapping.short_description, labels, annotations)
        or (payload.title or "").strip()
        or f"alert from {_source(payload)}"
    )
    description = pick(mapping.description, labels, annotations) or (payload.message or "")
    shown = "\n".join(f"{name}={value}" for name, value in sorted(labels.items()))
    severity = severity_for(
        pick(mapping.severity, labels, annotations),
        policy.alerts.severity,
        mapping.severity_aliases,
        mapping.default_severity,
    )
    origin = AlertOrigin(
        tool=payload.tool,
        integration=payload.receiver,
        description=f"{description or summary}\n\nLabels:\n{shown}".strip(),
        category=pick(mapping.category, labels, annotations),
        subcategory=pick(mapping.subcategory, labels, annotations),
        ci=pick(mapping.ci, labels, annotations),
        group=pick(mapping.group, labels, annotations),
        links=_links(payload, alerts, annotations),
        labels=labels,
    )
    return AlertEvent(
        source=_source(payload),
        dedup_key=key,
        action="trigger" if status == "firing" else "resolve",
        summary=clip(summary),
        severity=severity,
        service=(pick(mapping.service, labels, annotations) or "")[:128].strip() or None,
        details={name: bounded(value) for name, value in details.items()},
        received_at=now,
        origin=origin,
    )


def _links(
    payload: WebhookPayload, alerts: list[WebhookAlert], annotations: dict[str, str]
) -> list[AlertLink]:
    links: list[AlertLink] = []
    for alert in alerts:
        for text, href in (
            ("source", alert.generatorURL),
            ("dashboard", alert.dashboardURL),
            ("panel", alert.panelURL),
            ("silence", alert.silenceURL),
            ("image", alert.imageURL),
            ("runbook", alert.annotations.get("runbook_url", "")),
        ):
            if href.strip():
                links.append(AlertLink(href=href.strip(), text=text))
    if annotations.get("runbook_url", "").strip():
        links.append(AlertLink(href=annotations["runbook_url"].strip(), text="runbook"))
    if payload.externalURL.strip():
        links.append(AlertLink(href=payload.externalURL.strip(), text=payload.tool))
    return links


def _digest(text: str) -> str:
    """Alertmanager's own PagerDuty dedup_key for a group is this hash of its group key."""
    return hashlib.sha256(text.encode()).hexdigest()
