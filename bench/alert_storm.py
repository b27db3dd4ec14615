"""An alert storm over both monitoring doors: `keys` distinct alerts, each triggered once and
then `repeats` times more, half as PagerDuty Events v2 (`POST /v2/enqueue`), half as
Alertmanager webhooks (`POST /integrations/alertmanager`, `batch` alerts a notification), in a
shuffled order. Used by `make bench` and by the storm test (tests/api/test_alert_storm.py).

Counts what the API accepted (a trigger is accepted once: a 429 is retried after its
`Retry-After`, a 5xx is a failure), then waits until the record store lists one incident per
key whose `alert.occurrences` add up to the accepted triggers.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PAGERDUTY, ALERTMANAGER = "pagerduty", "alertmanager"
RETRIES = 30


@dataclass(frozen=True)
class Send:
    door: str
    body: dict[str, Any]
    triggers: int


def add_integration(tokens_file: Path, name: str) -> str:
    """Append an `[[integration]]` with a fresh key to a tokens file; returns the key."""
    key = uuid.uuid4().hex
    with tokens_file.open("a", encoding="utf-8") as tokens:
        tokens.write(f'\n[[integration]]\nname = "{name}"\nkey = "{key}"\n')
    return key


def plan(
    keys: int, repeats: int, routing_key: str, receiver: str, run_id: str, batch: int = 5
) -> list[Send]:
    sends: list[Send] = []
    pagerduty_keys = keys // 2
    for index in range(pagerduty_keys):
        event = {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": f"storm-{run_id}-{index}",
            "payload": {"summary": f"storm {index}", "source": f"host{index}", "severity": "info"},
        }
        sends += [Send(PAGERDUTY, event, 1) for _ in range(1 + repeats)]
    alertmanager_keys = list(range(pagerduty_keys, keys))
    for start in range(0, len(alertmanager_keys), batch):
        group = alertmanager_keys[start : start + batch]
        body = _webhook(receiver, run_id, group)
        sends += [Send(ALERTMANAGER, body, len(group)) for _ in range(1 + repeats)]
    random.Random(run_id).shuffle(sends)
    return sends


def _webhook(receiver: str, run_id: str, indexes: list[int]) -> dict[str, Any]:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "Storm", "instance": f"host{index}", "severity": "info"},
            "annotations": {"summary": f"storm {index}"},
            "startsAt": "2026-11-30T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": f"{run_id}{index:08x}",
        }
        for index in indexes
    ]
    return {
        "version": "4", "status": "firing", "receiver": receiver, "alerts": alerts,
        "groupLabels": {"alertname": "Storm"}, "commonLabels": {"alertname": "Storm"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "groupKey": f'{{}}:{{alertname="Storm-{run_id}"}}', "truncatedAlerts": 0,
    }  # fmt: skip


@dataclass
class Storm:
    http: httpx.AsyncClient
    automation_headers: dict[str, str]
    reader_headers: dict[str, str]
    callers: tuple[str, ...]  # the integration's name and "alertmanager/<receiver>"
    accepted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    async def send(self, item: Send) -> None:
        """One request, retried while throttled; raises on anything but an acceptance."""
        for _ in range(RETRIES):
            if item.door == PAGERDUTY:
                response = await self.http.post("/v2/enqueue", json=item.body)
            else:
                response = await self.http.post(
                    "/integrations/alertmanager", json=item.body, headers=self.automation_headers
                )
            self.statuses[response.status_code] += 1
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            self.accepted += item.triggers
            return
        raise httpx.HTTPError(f"still throttled after {RETRIES} tries")

    async def incidents(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for caller in self.callers:
            cursor: str | None = None
            while True:
                params = {"caller": caller, "limit": "200"} | ({"cursor": cursor} if cursor else {})
                response = await self.http.get(
                    "/incidents", params=params, headers=self.reader_headers
                )
                response.raise_for_status()
                page = response.json()
                found += page["items"]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        return found

    async def settled(
        self, keys: int, started: float, timeout: float = 300
    ) -> tuple[list[dict[str, Any]], float | None]:
        """Poll until every key has its incident and every accepted trigger is counted; also
        when the last incident first showed (seconds after `started`)."""
        deadline = time.perf_counter() + timeout
        last_incident_at: float | None = None
        while True:
            found = await self.incidents()
            if last_incident_at is None and len(found) >= keys:
                last_incident_at = time.perf_counter() - started
            occurrences = sum(item["alert"]["occurrences"] for item in found)
            if (len(found) >= keys and occurrences >= self.accepted) or (
                time.perf_counter() > deadline
            ):
                return found, last_incident_at
            await asyncio.sleep(0.5)


def figures(
    storm: Storm, keys: int, repeats: int, sends: int, seconds: float, found: list[dict[str, Any]],
    last_incident_s: float | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "keys": keys,
        "repeats_per_key": repeats,
        "requests": sends,
        "accepted_triggers": storm.accepted,
        "seconds_sending": round(seconds, 2),
        "accepted_per_s": round(storm.accepted / seconds, 1) if seconds else 0.0,
        "seconds_to_last_incident": round(last_incident_s, 2) if last_incident_s else None,
        "incidents": len(found),
        "occurrences": sum(item["alert"]["occurrences"] for item in found),
        "statuses": {str(status): count for status, count in sorted(storm.statuses.items())},
        "server_errors": sum(c for s, c in storm.statuses.items() if s >= 500),
    }
