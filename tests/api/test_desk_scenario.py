"""Issue 16's "Checked by", end to end as the desk meets it: one API, one worker, the dev
server, a CI catalogue, and real local receivers for the notifications (an SMTP server and a
webhook). Five callers report that the office internet is down; the desk finds the first
incident through `similar`, adds the callers who phone in as affected (one escalation to the
incident manager, at the threshold), resolves two stray incidents as duplicates of the first;
a misrouted incident is returned twice and reaches the incident manager; the queues, the
filtered list and the README's "open" Temporal queries show exactly the open work.

The desk is olga, whose groups (office-desk, office-net, office-dba; tests/support/
directory.toml) no other test uses, so her queues hold only this story's incidents."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from domain import search_attributes as sa
from tests.activities.test_notification_adapters import Inbox
from tests.api.test_desk_actions import mails_to, timeline_kinds
from tests.api.test_people import (  # noqa: F401  (fixtures)
    notifying_policy,
    notifying_stack,
    settled,
    smtp,
    webhook,
)
from tests.docs.test_readme import OPERATOR_QUERIES
from tests.support.apistack import Stack, eventually
from tests.support.httpstub import HttpStub

MARKER = "HEDGEHOG-7731-INTERNAL"  # only ever in work notes
OUTAGE = "The office internet is down"
INCIDENT_MANAGERS = "incident-managers@example.com"
SCENARIO_POLICY = """
[escalation]
notify_manager_at_creation = []
repeat_calls = 3
max_returns = 2

[routing]
levels = { L1 = "office-desk", L2 = "platform-l2", L3 = "platform-l3" }

[sla.P2]
response = "30m"
resolution = "8h"
calendar = "24x7"

[sla.P3]
response = "4h"
resolution = "3d"
calendar = "24x7"
"""
CATALOGUE = """
[[ci]]
id = "office-uplink-{tag}"
name = "Office internet uplink"
class = "network link"
service = "office-network-{tag}"
owner_group = "office-net"
location = "HQ, comms room"
"""
OPEN = ("new", "assigned", "in_progress", "pending")


@asynccontextmanager
async def desk_stack(
    env: WorkflowEnvironment, folder: Path, task_queue: str, records_url: str, policy: str
) -> AsyncIterator[tuple[Stack, str]]:
    """The API and a worker with the policy's channels, the directory and a CI catalogue of
    this test's own (tagged ids)."""
    tag = uuid.uuid4().hex[:8]
    cis_file = folder / "cis.toml"
    cis_file.write_text(CATALOGUE.format(tag=tag))
    async with notifying_stack(
        env, folder, task_queue, records_url, policy, cis_file=cis_file
    ) as stack:
        yield stack, tag


def numbers(items: list[dict[str, Any]]) -> list[str]:
    return [item["number"] for item in items]


async def test_the_desk_works_one_outage_from_five_callers(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    task_queue: str,
    records_url: str,
    webhook: HttpStub,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, smtp_port = smtp
    policy = notifying_policy(webhook.url, smtp_port) + SCENARIO_POLICY
    async with desk_stack(dev_env, tmp_path, task_queue, records_url, policy) as (stack, tag):
        ci, service = f"office-uplink-{tag}", f"office-network-{tag}"
        look = {"q": "office internet down", "service": service, "ci": ci}

        # carol phones: nothing open on the uplink yet, so the desk logs the first incident.
        before = await stack.ok("GET", "/incidents/similar", "olga", params=look)
        assert not [hit for hit in before if "ci" in hit["why"]]
        first = await stack.ok(
            "POST",
            "/incidents",
            "olga",
            status=201,
            json={"short_description": OUTAGE, "caller": "carol", "ci": ci},
        )
        one, one_path = first["number"], f"/incidents/{first['number']}"
        assert first["service"] == service  # the CI brings its service
        await stack.ok(
            "POST", f"{one_path}/assign", "olga", json={"group": "office-desk", "assignee": "olga"}
        )
        await stack.ok("POST", f"{one_path}/start", "olga", json={})
        note = {"text": f"Uplink router reboot loop {MARKER}", "visibility": "work_note"}
        await stack.ok("POST", f"{one_path}/comment", "olga", json=note)

        # alice and bob raise their own before anyone tells them: two stray incidents.
        two = (
            await stack.ok(
                "POST",
                "/incidents",
                "alice",
                status=201,
                json={"short_description": "Office internet down since 9", "ci": ci},
            )
        )["number"]
        three = (
            await stack.ok(
                "POST",
                "/incidents",
                "bob",
                status=201,
                json={"short_description": "No internet in the office", "ci": ci},
            )
        )["number"]

        # The desk opens alice's incident and sees the first one among its similar incidents.
        seen = await eventually(
            lambda: stack.ok("GET", f"/incidents/{two}", "olga"),
            lambda view: one in numbers(view["similar"]),
        )
        hit = next(item for item in seen["similar"] if item["number"] == one)
        assert {"text", "ci"} <= set(hit["why"]) and hit["short_description"] == OUTAGE
        as_alice = await stack.ok("GET", f"/incidents/{two}", "alice")
        assert not as_alice.get("similar")  # the desk's lookup, not the caller's

        # dave, erin and frank phone: the desk looks first and adds them to the first incident.
        for position, caller in enumerate(("dave", "erin", "frank"), start=1):
            hits = await stack.ok("GET", "/incidents/similar", "olga", params=look)
            assert one in numbers(hits), hits
            view = await stack.ok("POST", f"{one_path}/affected", "olga", json={"caller": caller})
            assert view["affected_count"] == position
        escalated = await timeline_kinds(stack, one_path, "escalated")
        assert len(escalated) == 1, escalated
        assert escalated[0]["details"]["kind"] == "hierarchical"
        assert escalated[0]["details"]["notify"] == ["incident-manager"]
        assert escalated[0]["details"]["affected_count"] == 3

        # The two strays are duplicates of the first: linked both ways, callers now affected.
        duplicate = {"resolution_code": "duplicate", "resolution_notes": "Same uplink outage"}
        for stray in (two, three):
            path = f"/incidents/{stray}"
            await stack.ok(
                "POST", f"{path}/assign", "olga", json={"group": "office-desk", "assignee": "olga"}
            )
            resolved = await stack.ok(
                "POST", f"{path}/resolve", "olga", json=duplicate | {"duplicate_of": one}
            )
            assert resolved["status"] == "resolved" and resolved["duplicate_of"] == one
            # its caller follows the original as soon as the resolve has answered
            assert (await stack.call("GET", one_path, resolved["caller"])).status_code == 200
        original = await eventually(
            lambda: stack.ok("GET", one_path, "olga"),
            lambda view: len(view["duplicates"]) == 2 and view["affected_count"] == 5,
        )
        assert sorted(original["duplicates"]) == sorted([two, three])
        assert sorted(original["affected_callers"]) == ["alice", "bob", "dave", "erin", "frank"]
        assert len(await timeline_kinds(stack, one_path, "escalated")) == 1  # still once
        too_late = await stack.call(
            "POST", f"/incidents/{two}/affected", "olga", json={"caller": "erin"}
        )
        assert too_late.status_code == 409
        assert too_late.json()["error"].startswith("cannot add an affected caller to an incident")
        for requester in ("alice", "bob"):
            as_caller = await stack.ok("GET", one_path, requester)
            assert as_caller["status"] == "in_progress" and as_caller["allowed_actions"] == []
            assert as_caller["affected_callers"] == [requester]
            timeline = await stack.call("GET", f"{one_path}/timeline", requester)
            assert timeline.status_code == 200 and MARKER not in timeline.text

        # A misrouted call: network sends it back, then the DBAs; the incident manager decides.
        vpn = await stack.ok(
            "POST",
            "/incidents",
            "olga",
            status=201,
            json={
                "short_description": "VPN drops every five minutes",
                "caller": "dave",
                "impact": 2,
                "urgency": 2,
            },
        )
        four, four_path = vpn["number"], f"/incidents/{vpn['number']}"
        handed = {"group": "office-desk", "reason": "misrouted"}  # what the user tried
        wrong = await stack.call("POST", f"{four_path}/assign", "olga", json=handed)
        assert wrong.status_code == 422 and "/return" in wrong.json()["problems"][0]["message"]
        for group, reason in (("office-net", "Not the LAN: the VPN client"), ("office-dba", "x")):
            await stack.ok("POST", f"{four_path}/assign", "olga", json={"group": group})
            back = await stack.ok("POST", f"{four_path}/return", "olga", json={"reason": reason})
            assert back["assignment_group"] == "office-desk" and back["assignee"] is None
        assert back["returns"] == 2
        escalated = await timeline_kinds(stack, four_path, "escalated")
        assert len(escalated) == 1 and escalated[0]["details"]["returns"] == 2
        assert escalated[0]["details"]["notify"] == ["incident-manager"]

        # The incident manager heard of each exactly once, by mail and by chat.
        await settled(lambda: len(inbox.messages) + len(webhook.requests))
        to_managers = mails_to(inbox, INCIDENT_MANAGERS)
        about_one = [m for m in to_managers if f"[{one}] Escalated" in m]
        about_four = [m for m in to_managers if f"[{four}] Escalated" in m]
        assert len(about_one) == 1 and len(about_four) == 1, to_managers
        assert "returned 2 times" in about_four[0]
        chat = [str(request.json) for request in webhook.requests]
        assert len([text for text in chat if one in text and "Escalated" in text]) == 1
        for text in [m.as_string() for m in inbox.messages] + chat:
            assert MARKER not in text

        # The queues: exactly the open work, nearest breach first, no resolved duplicate.
        mine = await stack.ok("GET", "/queues/mine", "olga")
        assert numbers(mine["items"]) == [one]
        queue = await stack.ok("GET", "/queues/groups/office-desk", "olga")
        assert numbers(queue["items"]) == [four, one]  # P2 response (30m) before P3 resolution
        remaining = [item["remaining_seconds"] for item in queue["items"]]
        assert remaining == sorted(remaining) and all(r > 0 for r in remaining)
        assert [item["clock"] for item in queue["items"]] == ["response", "resolution"]
        assert (await stack.ok("GET", "/queues/groups/office-net", "olga"))["items"] == []
        assert (await stack.call("GET", "/queues/mine", "alice")).status_code == 403

        # The list, filtered as the desk would: only the open incident of the outage.
        for query in (f"ci={ci}", f"service={service}", f"q=internet&ci={ci}"):
            listed = await stack.ok("GET", f"/incidents?open=true&{query}", "olga")
            assert numbers(listed["items"]) == [one], query
        closed_side = await stack.ok("GET", f"/incidents?open=false&ci={ci}", "olga")
        assert sorted(numbers(closed_side["items"])) == sorted([two, three])
        everything = await stack.ok("GET", f"/incidents?ci={ci}", "olga")
        assert sorted(numbers(everything["items"])) == sorted([one, two, three])
        unknown = await stack.call("GET", f"/incidents?open=true&servce={service}", "olga")
        assert unknown.status_code == 422 and "servce" in unknown.text

        # The README's "a group's queue" Temporal query, for the story's group: the same two.
        client = dev_env.client
        group_query = OPERATOR_QUERIES["a group's queue"].replace("service-desk", "office-desk")
        assert 'IncidentGroup="office-desk"' in group_query

        async def in_group() -> list[Any]:
            return [wf async for wf in client.list_workflows(group_query)]

        wanted = {f"incident-{four}", f"incident-{one}"}
        found = await eventually(in_group, lambda wfs: {wf.id for wf in wfs} == wanted)
        assert {wf.id for wf in found} == wanted
        for wf in found:
            assert wf.typed_search_attributes.get(sa.INCIDENT_STATUS) in OPEN
        for stray in (two, three):  # resolved, their workflows still running until close
            running = await client.get_workflow_handle(f"incident-{stray}").describe()
            assert running.status is not None and running.status.name == "RUNNING"
        olga_query = OPERATOR_QUERIES["someone's open work"].replace('"sam"', '"olga"')

        async def olgas() -> list[Any]:
            return [wf async for wf in client.list_workflows(olga_query)]

        found = await eventually(olgas, lambda wfs: {wf.id for wf in wfs} == {f"incident-{one}"})
        assert {wf.id for wf in found} == {f"incident-{one}"}  # not the resolved duplicates
        open_ones = re.sub(r"IncidentPriority=\"P1\" AND ", "", OPERATOR_QUERIES["open P1s"])
        assert open_ones.startswith("IncidentStatus IN (")
        ours = f'{open_ones} AND IncidentCaller IN ("carol","alice","bob","dave")'

        async def open_of_ours() -> list[Any]:
            return [wf async for wf in client.list_workflows(ours)]

        found = await eventually(open_of_ours, lambda wfs: {wf.id for wf in wfs} >= wanted)
        story = {f"incident-{n}" for n in (one, two, three, four)}
        assert {wf.id for wf in found} & story == wanted
