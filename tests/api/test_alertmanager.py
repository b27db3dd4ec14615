"""The real Prometheus Alertmanager (0.25) notifying incidentflow, through a `webhook_configs`
receiver (bearer token of an automation principal) and a `pagerduty_configs` receiver whose
`url` is our `/v2/enqueue`. Alerts are posted to Alertmanager's own API, as Prometheus does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.support.alertmanager import Alertmanager
from tests.support.apistack import TOKENS, Stack, eventually
from tests.support.integrations import integration, integration_stack

ALERTS = 20


def config(stack: Stack, receiver: str, routing_key: str) -> str:
    api = str(stack.http.base_url).rstrip("/")
    return f"""
global:
  resolve_timeout: 5s
route:
  receiver: {receiver}
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: {receiver}-pagerduty
      matchers: ['via="pagerduty"']
receivers:
  - name: {receiver}
    webhook_configs:
      - url: {api}/integrations/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {TOKENS["monitoring"][1]}
  - name: {receiver}-pagerduty
    pagerduty_configs:
      - url: {api}/v2/enqueue
        routing_key: {routing_key}
        send_resolved: true
        severity: warning
"""


def alerts(name: str, count: int, ended: bool = False, **labels: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "labels": {"alertname": name, "instance": f"node{i:02d}", "severity": "warning"}
            | labels,
            "annotations": {"summary": f"{name} on node{i:02d}", "description": "load above 10"},
            "startsAt": (now - timedelta(minutes=5)).isoformat(),
            "endsAt": (now - timedelta(seconds=1)).isoformat()
            if ended
            else (now + timedelta(hours=1)).isoformat(),
            "generatorURL": f"http://prometheus:9090/graph?g0.expr={name}",
        }
        for i in range(count)
    ]


async def incidents_of(stack: Stack, caller: str, count: int, status: str | None = None) -> Any:
    query = f"/incidents?caller={caller}&limit=200" + (f"&status={status}" if status else "")

    async def listed() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await stack.ok("GET", query))["items"]
        return items

    found = await eventually(listed, lambda items: len(items) >= count, seconds=45)
    return found


async def test_alertmanager_opens_one_incident_per_alert_and_resolves_them(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    records_url: str,
    alertmanager: Callable[[str], Alertmanager],
) -> None:
    pd_integration = integration(f"am-pd-{uuid.uuid4().hex[:6]}")
    async with integration_stack(dev_env, tmp_path, records_url, "", [pd_integration]) as stack:
        receiver = f"ops-{uuid.uuid4().hex[:6]}"
        manager = alertmanager(config(stack, receiver, pd_integration["key"]))
        name = f"HighLoad{uuid.uuid4().hex[:6]}"
        manager.post_alerts(alerts(name, ALERTS))
        paged = f"Paged{uuid.uuid4().hex[:6]}"
        manager.post_alerts(alerts(paged, 2, via="pagerduty"))

        try:
            await notified_and_resolved(stack, manager, receiver, name, paged, pd_integration)
        except AssertionError as failed:
            failed.add_note(f"alertmanager's log, last lines:\n{manager.output()[-4000:]}")
            raise


async def notified_and_resolved(
    stack: Stack,
    manager: Alertmanager,
    receiver: str,
    name: str,
    paged: str,
    pd_integration: dict[str, str],
) -> None:
    caller = f"alertmanager/{receiver}"
    opened = await incidents_of(stack, caller, ALERTS)
    assert len(opened) == ALERTS
    assert {i["short_description"] for i in opened} == {
        f"{name} on node{i:02d}" for i in range(ALERTS)
    }
    one = await stack.ok("GET", f"/incidents/{opened[0]['number']}")
    origin = one["alert"]["origin"]
    assert origin["tool"] == "alertmanager" and origin["integration"] == receiver
    assert f"http://prometheus:9090/graph?g0.expr={name}" in [
        link["href"] for link in origin["links"]
    ]
    assert one["priority"] == "P3" and origin["labels"]["alertname"] == name
    [by_pagerduty] = await incidents_of(stack, pd_integration["name"], 1)
    assert by_pagerduty["short_description"].startswith("[FIRING:2]")

    manager.post_alerts(alerts(name, ALERTS, ended=True))
    manager.post_alerts(alerts(paged, 2, ended=True, via="pagerduty"))
    resolved = await incidents_of(stack, caller, ALERTS, status="resolved")
    assert len(resolved) == ALERTS
    assert {i["resolution_code"] for i in resolved} == {"auto_resolved"}
    [paged_resolved] = await incidents_of(stack, pd_integration["name"], 1, "resolved")
    assert paged_resolved["number"] == by_pagerduty["number"]
    assert all(i["number"] in {o["number"] for o in opened} for i in resolved)


async def test_alertmanager_groups_make_one_incident_each_by_policy(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    records_url: str,
    alertmanager: Callable[[str], Alertmanager],
) -> None:
    policy = '[integrations.alertmanager]\ngroup_by = "group"\n'
    async with integration_stack(dev_env, tmp_path, records_url, policy) as stack:
        receiver = f"grouped-{uuid.uuid4().hex[:6]}"
        manager = alertmanager(config(stack, receiver, uuid.uuid4().hex))
        name = f"DiskFull{uuid.uuid4().hex[:6]}"
        manager.post_alerts(alerts(name, ALERTS))
        caller = f"alertmanager/{receiver}"
        [grouped] = await incidents_of(stack, caller, 1)
        view = await stack.ok("GET", f"/incidents/{grouped['number']}")
        # the group's common labels; a first notification sent before every alert of the group
        # reached Alertmanager (a busy machine) has fewer alerts and so more labels in common
        labels = view["alert"]["origin"]["labels"]
        assert labels.items() >= {"alertname": name, "severity": "warning"}.items()

        manager.post_alerts(alerts(name, ALERTS, ended=True))
        [resolved] = await incidents_of(stack, caller, 1, status="resolved")
        assert resolved["number"] == grouped["number"]
        assert resolved["resolution_code"] == "auto_resolved"
        assert len(await incidents_of(stack, caller, 1)) == 1
