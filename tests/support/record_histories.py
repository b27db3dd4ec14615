"""Record workflow histories of full lifecycles into tests/histories/ for the replay test.

Run once per release, BEFORE changing workflow code:
`.venv/bin/python -m tests.support.record_histories RELEASE [SCENARIO ...]` (all scenarios
unless named).
The files of earlier releases stay; test_replay.py replays all of them against today's code,
so a change that would break running incidents fails CI.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.service import playbooks
from core.settings import DEFAULT_MODELS_DIR, DEFAULT_REPLY_TEMPLATES_DIR
from core.temporal_client import start_incident
from domain.directory import parse_directory
from domain.incident_models import StepState, load_catalogue
from domain.lifecycle import open_incident
from domain.models import IncidentCreate, IncidentView, UpdateRequest
from domain.names import alert_workflow_id, incident_workflow_id
from domain.policy import parse_policy
from domain.relations import AlertEvent
from domain.replies import load_templates
from domain.search_attributes import ALL_KEYS
from recordstore import RecordStore
from worker import build_worker
from workflows.alerts import AlertOutcome, AlertStart, AlertWorkflow

HISTORIES = Path(__file__).parent.parent / "histories"
POLICY = parse_policy(
    """
[sla.P3]
response = "1s"
resolution = "3s"
calendar = "24x7"
warn_at = [0.5]
escalate_at = 0.7

[closure]
auto_close_after = "2s"
calendar = "24x7"

[major]
update_interval = "1s"
review_due = "1s"

[notifications]
retry_for = "2s"
routes = { caller = ["hook"], assignee = ["hook"], stakeholders = ["hook"] }

[notifications.channels.hook]
type = "webhook"
url = "http://127.0.0.1:9/unreachable"

[tickets]
retry_for = "2s"

[vendors.acme]
url = "http://127.0.0.1:9/unreachable"
timeout = "1s"
"""
)
# The shipped incident models and the test stack's directory (the owner groups' leads), matched
# and snapshotted by the API's own functions, as `POST /incidents` and `update` do.
MODELS = load_catalogue(
    {},
    "policy.toml",
    DEFAULT_MODELS_DIR,
    {name: t.body for name, t in load_templates(DEFAULT_REPLY_TEMPLATES_DIR).items()},
)
DIRECTORY = parse_directory((Path(__file__).parent / "directory.toml").read_text())
SERVICES: Any = SimpleNamespace(policy=POLICY, models=MODELS, directory=DIRECTORY)
REVIEW = {
    "summary": "Outage",
    "root_cause": "Expired certificate",
    "lessons": "Monitor expiry",
    "actions": [{"action": "Alert on expiry", "owner": "sam"}],
}


class Recorder:
    def __init__(self, client: Client, store: RecordStore, queue: str) -> None:
        self.client, self.store, self.queue = client, store, queue

    async def open(self, **fields: Any) -> WorkflowHandle[Any, Any]:
        number = await self.store.allocate_number()
        caller = fields.pop("caller", "alice")
        create = IncidentCreate(
            short_description=fields.pop("short_description", "Mail down"), **fields
        )
        model = playbooks.model_for_create(SERVICES, create)  # a shipped model, if one matches
        state = open_incident(
            number, create, caller, caller, POLICY, datetime.now(UTC), model=model
        )
        return await start_incident(self.client, self.queue, state)

    async def act(self, handle: WorkflowHandle[Any, Any], action: str, **body: Any) -> IncidentView:
        view: IncidentView = await handle.execute_update(action, body, result_type=IncidentView)
        return view

    async def update(self, handle: WorkflowHandle[Any, Any], **body: Any) -> IncidentView:
        """`update` as the API sends it: with the snapshot of a model the new values match."""
        current = await handle.query("view", result_type=IncidentView)
        model = playbooks.model_for_update(SERVICES, current, UpdateRequest(**body))
        body |= {key: snapshot.model_dump(mode="json") for key, snapshot in model.items()}
        return await self.act(handle, "update", **body)


async def full_lifecycle(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    h = await r.open(category="email")
    await h.signal("start", {"actor": "monitoring"})  # rejected: not assigned
    await r.act(h, "assign", group="desk", assignee="sam")
    await r.act(h, "update", category="network", reason="recategorised")
    await r.act(h, "start")
    await r.act(h, "comment", text="looking", visibility="work_note")
    await r.act(h, "pend", reason="awaiting_vendor", note="RMA")
    await r.act(h, "vendor_ticket", vendor="acme", summary="Replace the NIC")
    await r.act(h, "resume")
    await r.act(h, "escalate", kind="hierarchical", reason="VIP")
    await r.act(h, "resolve", resolution_code="workaround", resolution_notes="Static IP")
    await r.act(h, "reopen", reason="Back again")
    await r.act(h, "resolve", resolution_code="fixed", resolution_notes="New NIC")
    await asyncio.sleep(3)  # auto-close, notifications given up
    return [h]


async def timers_fire(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    h = await r.open()
    await asyncio.sleep(4)  # warnings, escalation, breaches
    await r.act(h, "assign", group="desk", assignee="sam")
    await r.act(h, "cancel", reason="raised twice")
    return [h]


async def major_incident(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    h = await r.open(impact=1, urgency=1)
    await r.act(h, "assign", group="desk", assignee="sam")
    await asyncio.sleep(2.5)  # bridge, status updates
    await r.act(h, "resolve", resolution_code="fixed", resolution_notes="ok")
    await asyncio.sleep(1.5)  # review reminder
    await r.act(h, "review", **REVIEW)
    await r.act(h, "close")
    return [h]


async def parent_and_children(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    parent = await r.open(short_description="Core switch")
    children = [await r.open(short_description=f"Floor {n}") for n in (1, 2)]
    parent_number = (await parent.query("view", result_type=IncidentView)).number
    for child in children:
        await r.act(child, "link_parent", parent=parent_number)
    await r.act(children[1], "assign", group="desk", assignee="sam")
    await r.act(children[1], "resolve", resolution_code="fixed", resolution_notes="by hand")
    await asyncio.sleep(0.5)
    await r.act(parent, "assign", group="net", assignee="nina")
    await r.act(parent, "resolve", resolution_code="fixed", resolution_notes="card")
    await asyncio.sleep(0.5)
    await r.act(parent, "reopen", reason="flapping")
    await asyncio.sleep(0.5)
    await r.act(parent, "cancel", reason="done elsewhere")
    await children[0].signal("cancel", {"reason": "cleanup"})  # the other one auto-closes
    return [parent, *children]


async def alert_storm(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    key = f"db/{uuid.uuid4().hex[:6]}"
    outcome: AlertOutcome | None = None
    for action in ("trigger", "trigger", "acknowledge", "resolve"):
        event = AlertEvent(source="prometheus", dedup_key=key, action=action, summary="CPU",
                           severity="warning", received_at=datetime.now(UTC))  # fmt: skip
        start = WithStartWorkflowOperation(  # an operation is used once
            AlertWorkflow.run,
            AlertStart(source="prometheus", dedup_key=key, policy=POLICY),
            id=alert_workflow_id("prometheus", key),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=r.queue,
        )
        outcome = await r.client.execute_update_with_start_workflow(
            AlertWorkflow.alert, event, start_workflow_operation=start, result_type=AlertOutcome
        )
    assert outcome is not None and outcome.incident is not None
    incident = r.client.get_workflow_handle(incident_workflow_id(outcome.incident))
    await asyncio.sleep(0.5)
    await r.act(incident, "close")
    return [incident, r.client.get_workflow_handle(alert_workflow_id("prometheus", key))]


async def caller_comment(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    """The caller answers, and writes again: what issue 15 made the assignee hear of."""
    h = await r.open(category="email")
    await r.act(h, "assign", group="desk", assignee="sam")
    await r.act(h, "start")
    await r.act(h, "pend", reason="awaiting_caller", note="Which laptop?")
    await r.act(h, "comment", text="The grey one", visibility="public", actor="alice")
    await r.act(h, "comment", text="Any news?", visibility="public", actor="alice")
    await r.act(h, "resolve", resolution_code="fixed", resolution_notes="New fan")
    await r.act(h, "close", actor="alice")
    await asyncio.sleep(3)
    return [h]


async def desk_checks(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    """Issue 16: a misroute returned twice, repeat callers, a duplicate linked both ways."""
    original = await r.open(short_description="Office internet down", impact=3)
    await r.act(original, "assign", group="network-l1", assignee="sam")
    await r.act(original, "start")
    await r.act(original, "return", reason="A laptop's Wi-Fi")
    await r.act(original, "assign", group="dba-l1")
    await r.act(original, "return", reason="Not a database")  # the incident manager decides
    await original.signal("affected", {"caller": 42})  # rejected
    for caller in ("bob", "carol", "dave"):  # repeat_calls: escalated, impact suggested
        await r.act(original, "affected", caller=caller)
    duplicate = await r.open(short_description="No internet", caller="erin")
    await r.act(duplicate, "assign", group="desk", assignee="sam")
    number = (await original.query("view", result_type=IncidentView)).number
    await r.act(
        duplicate,
        "resolve",
        resolution_code="duplicate",
        resolution_notes="Reported already",
        duplicate_of=number,
    )
    await asyncio.sleep(0.5)
    await r.act(original, "comment", text="Router replaced", visibility="public")
    await r.act(original, "resolve", resolution_code="fixed", resolution_notes="Router")
    await r.act(original, "close")
    await r.act(duplicate, "close")
    return [original, duplicate]


async def playbook(r: Recorder) -> list[WorkflowHandle[Any, Any]]:
    """Issue 17: an incident opened with the network-outage model's playbook (its P1/P2 steps
    not needed at P4; its notice runs), a step completed, one skipped, resolve refused while a
    required step is open; re-categorised to service-degradation (the first playbook kept on
    record, the new one's notice runs), its required steps done, the closing comment posted."""
    h = await r.open(
        short_description="Office network down",
        category="network",
        subcategory="outage",
        impact=3,
        urgency=2,  # P4: declare-major and failover are not needed
    )
    await r.act(h, "assign", group="network-l1", assignee="sam")
    await r.act(h, "start")
    await r.act(h, "complete_step", step="scope", note="Building B, floors 2 and 3")
    await h.signal("complete_step", {"step": "verify"})  # rejected: waits for restore
    await r.act(h, "skip_step", step="carrier-ticket", reason="A switch of ours, not the WAN")
    await h.signal("resolve", {"resolution_code": "fixed", "resolution_notes": "early"})
    view = await r.update(
        h, category="application", subcategory="degradation", service="intranet"
    )  # not a network outage after all: the intranet is slow
    assert view.playbook is not None and view.playbook.model == "service-degradation", view
    for step in ("measure", "mitigate", "verify"):
        await r.act(h, "complete_step", step=step, note=f"{step}: done")
    await asyncio.sleep(0.5)  # the closing comment
    view = await r.act(h, "resolve", resolution_code="fixed", resolution_notes="Cache restarted")
    assert view.playbook is not None
    states = {step.id: step.state for step in view.playbook.steps}
    assert states["tell-caller"] == StepState.DONE, states
    assert [p.model for p in view.previous_playbooks] == ["network-outage"], view
    await asyncio.sleep(3)  # auto-close
    return [h]


SCENARIOS = [
    full_lifecycle,
    timers_fire,
    major_incident,
    parent_and_children,
    alert_storm,
    caller_comment,
    desk_checks,
    playbook,
]


async def main(release: str) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS,
    )
    scratch = Path(tempfile.mkdtemp())
    store = RecordStore(f"sqlite+aiosqlite:///{scratch / 'records.db'}")
    await store.database.migrate()
    queue = f"histories-{uuid.uuid4()}"
    HISTORIES.mkdir(exist_ok=True)
    async with build_worker(env.client, queue, store, policy=POLICY):
        recorder = Recorder(env.client, store, queue)
        only = sys.argv[2:]  # scenario names: record just these
        for scenario in [s for s in SCENARIOS if not only or s.__name__ in only]:
            handles = await scenario(recorder)
            for index, handle in enumerate(handles):
                await asyncio.wait_for(handle.result(), timeout=60)
                history = await handle.fetch_history()
                path = HISTORIES / f"{release}-{scenario.__name__}-{index}.json"
                path.write_text(
                    json.dumps({"workflow_id": handle.id, "history": json.loads(history.to_json())})
                )
                print(f"wrote {path}")  # noqa: T201
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v0.1.0"))
