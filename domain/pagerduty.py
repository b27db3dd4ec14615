"""PagerDuty Events API v2 (`POST /v2/enqueue`): the event checked as PagerDuty checks it, with
its error texts, and turned into an alert event for the router.

Fields as PagerDuty publishes them (github.com/PagerDuty/api-schema,
reference/events-v2/openapiv3.json): routing_key, event_action, dedup_key, payload {summary,
timestamp, severity, source, component, group, class, custom_details}, client, client_url,
links [{href, text}], images [{src, href, alt}]. Other fields are ignored, as PagerDuty does.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from domain.alert_origin import AlertLink, AlertOrigin, bounded, clip
from domain.integrations_policy import severity_for
from domain.policy import Policy
from domain.relations import AlertEvent

TOOL = "pagerduty-events-v2"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_MAX = 1024  # PagerDuty truncates longer summaries; so do we
DEDUP_KEY_MAX = 255

SUCCESS = {"status": "success", "message": "Event processed"}
INVALID = {"status": "invalid event", "message": "Event object is invalid"}
UNRECOGNIZED = {
    "status": "Unrecognized object",
    "message": "Event object format is unrecognized",
    "errors": ["JSON parse error"],
}


class Integration(BaseModel):
    """An `[[integration]]` of the tokens file: its key routes events to this name, and the
    incidents it opens get its service, assignment group, category and subcategory."""

    name: str
    service: str | None = None
    group: str | None = None
    category: str | None = None
    subcategory: str | None = None


class PagerDutyEvent(BaseModel):
    routing_key: str
    event_action: str
    dedup_key: str | None
    summary: str = ""
    source: str = ""
    severity: str = "error"
    timestamp: datetime | None = None
    component: str | None = None
    group: str | None = None
    event_class: str | None = None
    custom_details: Any = None
    client: str | None = None
    client_url: str | None = None
    links: list[AlertLink] = []


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(datetime)


def check(body: dict[str, Any]) -> tuple[PagerDutyEvent | None, list[str]]:
    """The event, or PagerDuty's error texts for what is wrong with it (all of them)."""
    errors: list[str] = []
    if _blank(body.get("routing_key")):
        errors.append("'routing_key' is missing or blank")
    action = body.get("event_action")
    if _blank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append("'event_action' is invalid (must be trigger, acknowledge or resolve)")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' is invalid")
    elif isinstance(dedup_key, str) and len(dedup_key) > DEDUP_KEY_MAX:
        errors.append(f"'dedup_key' is too long (maximum {DEDUP_KEY_MAX} characters)")
    elif action in ("acknowledge", "resolve") and _blank(dedup_key):
        errors.append("'dedup_key' is missing or blank")
    payload = body.get("payload")
    if action == "trigger":
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or invalid")
            payload = {}
        for field in ("summary", "source", "severity"):
            if _blank(payload.get(field)):
                errors.append(f"'payload.{field}' is missing or blank")
        severity = payload.get("severity")
        if not _blank(severity) and severity not in SEVERITIES:
            errors.append(f"'payload.severity' is invalid (must be one of {', '.join(SEVERITIES)})")
        timestamp = _timestamp(payload.get("timestamp"), errors)
    else:
        payload, timestamp = payload if isinstance(payload, dict) else {}, None
    links = _links(body, errors)
    if errors:
        return None, errors
    event = PagerDutyEvent(
        routing_key=body["routing_key"].strip(),
        event_action=action,
        dedup_key=_text(dedup_key),
        summary=clip(str(payload.get("summary") or "").strip(), SUMMARY_MAX),
        source=clip(str(payload.get("source") or "").strip()),
        severity=str(payload.get("severity") or "error"),
        timestamp=timestamp,
        component=_text(payload.get("component")),
        group=_text(payload.get("group")),
        event_class=_text(payload.get("class")),
        custom_details=payload.get("custom_details"),
        client=_text(body.get("client")),
        client_url=_text(body.get("client_url")),
        links=links,
    )
    return event, []


def _timestamp(value: Any, errors: list[str]) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str):
            return _TIMESTAMP.validate_python(value)
    except ValidationError:
        pass
    errors.append("'payload.timestamp' is invalid (must be an ISO 8601 date-time)")
    return None


def _links(body: dict[str, Any], errors: list[str]) -> list[AlertLink]:
    found: list[AlertLink] = []
    for field, url_key, text_key in (("links", "href", "text"), ("images", "src", "alt")):
        items = body.get(field)
        if items is None:
            continue
        if not isinstance(items, list):
            errors.append(f"'{field}' is invalid (must be an array)")
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict) or _blank(item.get(url_key)):
                errors.append(f"'{field}[{index}].{url_key}' is missing or blank")
                continue
            text = item.get(text_key) if isinstance(item.get(text_key), str) else ""
            found.append(AlertLink(href=item[url_key].strip(), text=text or field[:-1]))
            if field == "images" and not _blank(item.get("href")):
                found.append(AlertLink(href=item["href"].strip(), text=text or "image link"))
    return found


def alert_event(
    event: PagerDutyEvent, integration: Integration, policy: Policy, now: datetime
) -> AlertEvent:
    """The router's event: a trigger opens (or repeats on) the incident of `dedup_key`."""
    assert event.dedup_key is not None  # the route generates one for a trigger without
    labels = {
        key: value
        for key, value in {
            "source": event.source,
            "component": event.component,
            "group": event.group,
            "class": event.event_class,
            "client": event.client,
        }.items()
        if value
    }
    links = list(event.links)
    if event.client_url:
        links.insert(0, AlertLink(href=event.client_url, text=event.client or "client"))
    origin = AlertOrigin(
        tool=TOOL,
        integration=integration.name,
        description=_description(event, labels),
        category=integration.category,
        subcategory=integration.subcategory,
        ci=event.source or None,
        group=integration.group,
        links=links,
        labels=labels,
    )
    alerts = policy.alerts
    details: dict[str, Any] = {"event_action": event.event_action} | labels
    if event.custom_details is not None:
        details["custom_details"] = bounded(event.custom_details)
    if event.timestamp is not None:
        details["timestamp"] = event.timestamp.isoformat()
    return AlertEvent(
        source=integration.name,
        dedup_key=event.dedup_key,
        action=event.event_action,
        summary=event.summary or f"{event.event_action} from {integration.name}",
        severity=severity_for(event.severity, alerts.severity, {}, event.severity),
        service=integration.service,
        details=details,
        received_at=now,
        origin=origin,
    )


def _description(event: PagerDutyEvent, labels: dict[str, str]) -> str:
    lines = [event.summary, ""] + [f"{key}: {value}" for key, value in labels.items()]
    if event.custom_details is not None:
        lines += ["", "Details:", json.dumps(bounded(event.custom_details), indent=2)]
    return "\n".join(lines).strip()
