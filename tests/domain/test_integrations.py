"""Monitoring integrations, pure parts: payload mapping, PagerDuty's checks, the flapping rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import alertmanager, pagerduty
from domain.flapping import Flap, Resolution, after_resolution
from domain.integrations_policy import window_seconds
from domain.policy import PolicyError, parse_policy

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
POLICY = parse_policy("")


def am_payload(**overrides: Any) -> dict[str, Any]:
    """Alertmanager's webhook body (version 4), as its documentation shows it."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "ProbeFailure", "instance": "web01", "severity": "critical",
                   "service": "shop"},
        "annotations": {"summary": "Probe failing on web01", "description": "Down for 5m",
                        "runbook_url": "https://runbooks.example.com/probe"},
        "startsAt": "2023-02-06T13:08:45.828Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success",
        "fingerprint": "1a30ba71cca2921f",
    }  # fmt: skip
    body = {
        "receiver": "ops",
        "status": "firing",
        "alerts": [alert],
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.example.org:9093",
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
        "truncatedAlerts": 0,
        "aNewFieldFromTomorrow": {"ignored": True},
    }
    return body | overrides


def events(body: dict[str, Any], policy_text: str = "") -> list[Any]:
    payload = alertmanager.WebhookPayload.model_validate(body)
    return alertmanager.events_from(payload, parse_policy(policy_text), NOW)


def test_an_alertmanager_alert_maps_to_an_incidents_fields_by_default() -> None:
    [event] = events(am_payload())
    assert (event.source, event.dedup_key, event.action) == ("alertmanager/ops", "1a30ba71cca2921f",
                                                             "trigger")  # fmt: skip
    assert event.summary == "Probe failing on web01" and event.severity == "critical"
    assert event.service == "shop"
    origin = event.origin
    assert origin.tool == "alertmanager" and origin.integration == "ops" and origin.ci == "web01"
    assert origin.description.startswith("Down for 5m")
    hrefs = {link.text: link.href for link in origin.links}
    assert hrefs["source"].startswith("http://prometheus.example.org:9090/graph")
    assert hrefs["runbook"] == "https://runbooks.example.com/probe"
    assert hrefs["alertmanager"] == "http://alertmanager.example.org:9093"
    assert origin.labels["alertname"] == "ProbeFailure"
    assert event.details["starts_at"].startswith("2023-02-06") and "ends_at" not in event.details


def test_mapping_sources_severity_aliases_and_group_mode_come_from_the_policy() -> None:
    body = am_payload()
    body["commonLabels"] = body["commonLabels"] | {"severity": "page", "team": "web-l1"}
    policy = """
[integrations.alertmanager]
group_by = "group"
short_description = ["labels.alertname"]
group = ["labels.team"]
category = ["labels.alertname"]
"""
    [event] = events(body, policy)
    assert event.dedup_key == alertmanager._digest(body["groupKey"])  # as Alertmanager's own
    assert event.summary == "ProbeFailure" and event.severity == "critical"  # alias of page
    assert event.origin.group == "web-l1" and event.origin.category == "ProbeFailure"
    assert event.details["firing"] == 1
    with pytest.raises(PolicyError, match="integrations.alertmanager.ci"):
        parse_policy('[integrations.alertmanager]\nci = ["instance"]')


def test_an_unknown_severity_falls_back_to_the_default() -> None:
    body = am_payload()
    body["alerts"][0]["labels"]["severity"] = "apocalyptic"
    assert events(body)[0].severity == "error"
    del body["alerts"][0]["labels"]["severity"]
    warning = '[integrations.alertmanager]\ndefault_severity = "warning"'
    assert events(body, warning)[0].severity == "warning"


def test_grafana_payloads_and_resolved_alerts() -> None:
    grafana = am_payload(version="1", orgId=1, state="alerting", title="[FIRING:1] High memory",
                         message="Memory high", receiver="My Super Webhook")  # fmt: skip
    alert = grafana["alerts"][0]
    alert |= {"status": "resolved", "dashboardURL": "https://g.example/d/1",
              "panelURL": "https://g.example/d/1?viewPanel=2",
              "silenceURL": "https://g.example/silence", "values": {"B": 44.2}}  # fmt: skip
    del alert["annotations"]["summary"]
    [event] = events(grafana)
    assert event.source == "grafana/My Super Webhook" and event.action == "resolve"
    assert event.summary == "ProbeFailure"  # labels.alertname before Grafana's title
    assert {"dashboard", "panel", "silence"} <= {link.text for link in event.origin.links}
    assert event.details["values"] == {"B": 44.2}


@pytest.mark.parametrize(
    ("change", "field"),
    [({"version": "7"}, "version"), ({"status": "burning"}, "status"), ({"alerts": "x"}, "alerts")],
)
def test_malformed_payloads_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        alertmanager.WebhookPayload.model_validate(am_payload(**change))


def pd_event(**overrides: Any) -> dict[str, Any]:
    body = {
        "routing_key": "e93facc04764012d7bfb002500d5d1a6",
        "event_action": "trigger",
        "dedup_key": "srv01/mysql",
        "payload": {"summary": "DISK at 99% on prod-datapipe03", "source": "prod-datapipe03",
                    "severity": "critical", "component": "mysql", "group": "prod-datapipe",
                    "class": "disk", "timestamp": "2015-07-17T08:42:58.315+0000",
                    "custom_details": {"free space": "1%"}},
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com",
        "links": [{"href": "http://pagerduty.example.com", "text": "An example link."}],
        "images": [{"src": "https://chart.example/c.png", "href": "https://example.com",
                    "alt": "chart"}],
    }  # fmt: skip
    return body | overrides


def test_a_pagerduty_trigger_maps_to_an_alert_event() -> None:
    event, errors = pagerduty.check(pd_event())
    assert errors == [] and event is not None
    integration = pagerduty.Integration(name="kuma", service="db", group="dba-l1",
                                        category="database")  # fmt: skip
    alert = pagerduty.alert_event(event, integration, POLICY, NOW)
    assert (alert.source, alert.dedup_key, alert.severity) == ("kuma", "srv01/mysql", "critical")
    assert alert.service == "db" and alert.origin.group == "dba-l1"
    assert alert.origin.ci == "prod-datapipe03" and alert.origin.labels["class"] == "disk"
    assert [link.href for link in alert.origin.links][:2] == [
        "https://monitoring.service.com", "http://pagerduty.example.com"]  # fmt: skip
    assert alert.details["custom_details"] == {"free space": "1%"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (pd_event(routing_key=""), "'routing_key' is missing or blank"),
        (pd_event(event_action="explode"), "'event_action' is invalid"),
        (pd_event(event_action="resolve", dedup_key=None), "'dedup_key' is missing or blank"),
        (pd_event(payload={"summary": "x", "source": "y"}),
         "'payload.severity' is missing or blank"),
        (pd_event(payload={"summary": "x", "source": "y", "severity": "bad"}),
         "'payload.severity' is invalid"),
        (pd_event(payload="x"), "'payload' is missing or invalid"),
        (pd_event(dedup_key="k" * 256), "'dedup_key' is too long"),
        (pd_event(links=[{"text": "no href"}]), "'links[0].href' is missing or blank"),
    ],
)  # fmt: skip
def test_pagerduty_checks_answer_with_its_texts(body: dict[str, Any], error: str) -> None:
    event, errors = pagerduty.check(body)
    assert event is None and any(found.startswith(error) for found in errors), errors


def test_acknowledge_and_resolve_need_no_payload() -> None:
    event, errors = pagerduty.check({"routing_key": "k", "event_action": "resolve",
                                     "dedup_key": "srv01/mysql"})  # fmt: skip
    assert errors == [] and event is not None and event.event_action == "resolve"


def test_the_reopen_window() -> None:
    assert window_seconds("30m") == 1800 and window_seconds("0s") == 0 and window_seconds("0") == 0
    assert parse_policy("").alerts.reopen_window == "30m"
    with pytest.raises(PolicyError, match="alerts.reopen_window"):
        parse_policy('[alerts]\nreopen_window = "soon"')


@pytest.mark.parametrize(
    ("auto", "after", "window", "decision"),
    [
        (True, 10, 60, Flap.REOPEN),
        (True, 60, 60, Flap.REOPEN),
        (True, 61, 60, Flap.OPEN_NEW),
        (False, 1, 60, Flap.OPEN_NEW),  # resolved by hand: a new incident
        (True, 1, 0, Flap.OPEN_NEW),  # "0s": never reopen
    ],
)
def test_a_trigger_after_resolution_reopens_only_soon_after_an_auto_resolution(
    auto: bool, after: float, window: float, decision: Flap
) -> None:
    resolution = Resolution(number="INC0000001", resolved=True, auto=auto, at=NOW)
    assert after_resolution(resolution, NOW + timedelta(seconds=after), window) == decision
