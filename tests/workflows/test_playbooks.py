"""Playbooks as agents and the worker live them, on the time-skipping server: steps unlock in
dependency order, an automated HTTP step calls out once, a due step reminds on the dot, a
failed step is retried by an agent, resolve waits for the required steps, and a
re-categorisation brings a new playbook while the old one stays on record."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from core.settings import DEFAULT_MODELS_DIR, PROJECT_DIR
from domain import lifecycle
from domain.incident_models import ModelSnapshot
from domain.models import IncidentCreate, IncidentState, IncidentView
from domain.policy import Policy, parse_policy
from recordstore import RecordStore
from tests.support.apistack import eventually
from tests.support.factories import act, entries_of, next_number, start, view_of
from tests.support.httpstub import http_stub
from tests.support.playbooks import load_dir, snapshot_of
from worker import build_worker


def _phishing(url: str) -> str:
    return f"""
[models.phish]
title = "Phishing"
match = {{ category = "security" }}
defaults = {{ group = "security-ops" }}

[[models.phish.steps]]
id = "evidence"
title = "Preserve the evidence"
required = true
due = "30m"
overdue_after = "15m"

[[models.phish.steps]]
id = "reset"
title = "Reset credentials"
after = ["evidence"]
kind = "automated"
activity = "http"
http = {{ url = "{url}/identity/reset", body = {{ incident = "{{number}}", who = "{{caller}}" }} }}

[[models.phish.steps]]
id = "purge"
title = "Purge the messages"
after = ["reset"]
required = true

[[models.phish.steps]]
id = "awareness"
title = "Warn staff"
after = ["reset"]
"""


HARDWARE = """
[models.disk]
title = "Disk failure"
match = { category = "hardware" }

[[models.disk.steps]]
id = "diagnose"
title = "Diagnose"
required = true

[[models.disk.steps]]
id = "replace"
title = "Replace the disk"
after = ["diagnose"]
"""


async def _open(
    env: WorkflowEnvironment, queue: str, model: ModelSnapshot, **fields: Any
) -> tuple[WorkflowHandle[Any, Any], IncidentState]:
    create = IncidentCreate(
        **{"short_description": "Suspicious mail", "category": "security"} | fields
    )
    now = await env.get_current_time()
    state = lifecycle.open_incident(
        next_number(), create, "alice", "sam", Policy(), now, model=model
    )
    return await start(env.client, queue, state), state


def _steps(view: IncidentView) -> dict[str, str]:
    assert view.playbook is not None
    return {step.id: step.state.value for step in view.playbook.steps}


async def _refused(handle: WorkflowHandle[Any, Any], action: str, **body: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await act(handle, action, **body)
    assert isinstance(failed.value.cause, ApplicationError)
    return failed.value.cause


async def test_steps_unlock_in_order_and_an_http_step_calls_out_once_across_a_restart(
    dev_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> None:
    """On the dev server: the time-skipping one never hands a workflow over from a stopped
    worker's sticky queue to a new worker."""
    time_env = dev_env
    async with http_stub() as stub:
        model = snapshot_of(_phishing(stub.url), "phish")
        async with build_worker(time_env.client, task_queue, store):
            handle, state = await _open(time_env, task_queue, model)
            view = await view_of(handle)
            assert view.playbook is not None and view.playbook.version == model.version
            assert _steps(view) == {
                "evidence": "ready", "reset": "waiting", "purge": "waiting", "awareness": "waiting",
            }  # fmt: skip
            refused = await _refused(handle, "complete_step", step="purge")
            assert refused.type == lifecycle.INVALID_TRANSITION
            assert refused.details[0]["missing"] == ["reset"]

            done = await act(
                handle, "complete_step", step="evidence", note="eml attached", actor="sam"
            )
            assert _steps(done)["reset"] in ("ready", "running")
            view = await eventually(
                lambda: view_of(handle), lambda v: _steps(v)["reset"] == "done", seconds=30
            )
            assert _steps(view) == {
                "evidence": "done", "reset": "done", "purge": "ready", "awareness": "ready",
            }  # fmt: skip
            assert view.playbook is not None
            reset = view.playbook.steps[1]
            assert (reset.by, reset.attempts, reset.result) == (
                "playbook",
                1,
                'HTTP 200: {"ok": true}',
            )
            evidence = view.playbook.steps[0]
            assert (evidence.by, evidence.note) == ("sam", "eml attached")
        assert [(seen.method, seen.path) for seen in stub.requests] == [("POST", "/identity/reset")]
        # The Temporal UI names the activity after the playbook and the step.
        history = await handle.fetch_history()
        summaries = [
            json.loads(event.user_metadata.summary.data)
            for event in history.events
            if event.HasField("activity_task_scheduled_event_attributes")
            and event.activity_task_scheduled_event_attributes.activity_type.name
            == "run_playbook_http"
        ]
        assert summaries == ["playbook phish: reset credentials"]
        assert stub.requests[0].json == {"incident": state.number, "who": "alice"}
        assert stub.requests[0].key == f"{state.number}/playbook/phish/reset/1"

        async with build_worker(time_env.client, task_queue, store):  # a new worker replays
            view = await act(handle, "skip_step", step="awareness", reason="one recipient only")
            assert _steps(view)["awareness"] == "skipped"
            kinds = [e.kind for e in await entries_of(handle, "step_done")]
            assert kinds == ["step_done"]
        assert len(stub.requests) == 1, "the step called out again"


async def test_resolve_waits_for_the_required_steps(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> None:
    async with build_worker(time_env.client, task_queue, store):
        handle, _ = await _open(
            time_env, task_queue, snapshot_of(HARDWARE, "disk"), category="hardware"
        )
        await act(handle, "assign", group="desk", assignee="sam")
        resolve = {"resolution_code": "fixed", "resolution_notes": "new disk"}
        refused = await _refused(handle, "resolve", **resolve)
        assert refused.type == lifecycle.INVALID_TRANSITION
        assert refused.details[0]["missing"] == ["diagnose"]
        assert "diagnose" in refused.message
        skip = await _refused(handle, "skip_step", step="diagnose", reason="obvious")
        assert skip.type == lifecycle.INVALID_TRANSITION and "required" in skip.message

        await act(handle, "complete_step", step="diagnose")
        resolved = await act(handle, "resolve", **resolve)
        assert resolved.status == "resolved" and _steps(resolved)["replace"] == "ready"


async def test_a_due_step_reminds_its_owner_on_the_dot_then_the_lead(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> None:
    async with http_stub() as stub:
        model = snapshot_of(_phishing(stub.url), "phish", leads={"security-ops": "morgan"})
        async with build_worker(time_env.client, task_queue, store):
            handle, state = await _open(time_env, task_queue, model)
            await time_env.sleep(timedelta(minutes=50))
            due = await entries_of(handle, "step_due")
            assert [(e.at, e.details["step"], e.details["notify"]) for e in due] == [
                (state.created_at + timedelta(minutes=30), "evidence", ["security-ops"])
            ]
            overdue = await entries_of(handle, "step_overdue")
            assert [(e.at, e.details["notify"]) for e in overdue] == [
                (state.created_at + timedelta(minutes=45), ["morgan"])
            ]


async def test_a_failed_http_step_is_failed_with_its_reason_and_an_agent_retries_it(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> None:
    async with http_stub() as stub, build_worker(time_env.client, task_queue, store):
        stub.answer_always(500, body='{"error": "identity service down"}')
        handle, _ = await _open(time_env, task_queue, snapshot_of(_phishing(stub.url), "phish"))
        await act(handle, "complete_step", step="evidence")
        view = await eventually(
            lambda: view_of(handle), lambda v: _steps(v)["reset"] == "failed", seconds=60
        )
        assert view.playbook is not None and view.status == "assigned"
        failed = view.playbook.steps[1]
        assert failed.error is not None and "answered 500 (expected 200)" in failed.error
        assert len(stub.requests) == 3  # the activity's tries, then it gave up
        assert [e.details["notify"] for e in await entries_of(handle, "step_failed")] == [
            ["security-ops"]
        ]
        assert _steps(view)["purge"] == "waiting"

        stub.answer_always(200)
        stub._always = None  # the identity service is back
        retried = await act(handle, "complete_step", step="reset", retry=True, note="service back")
        assert _steps(retried)["reset"] in ("ready", "running")
        view = await eventually(
            lambda: view_of(handle), lambda v: _steps(v)["reset"] == "done", seconds=30
        )
        assert view.playbook is not None and view.playbook.steps[1].attempts == 2
        assert stub.requests[-1].key is not None and stub.requests[-1].key.endswith("/reset/2")
        assert _steps(view)["purge"] == "ready"


async def test_recategorisation_attaches_a_new_playbook_and_keeps_the_old_on_record(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> None:
    async with http_stub() as stub, build_worker(time_env.client, task_queue, store):
        handle, _ = await _open(time_env, task_queue, snapshot_of(_phishing(stub.url), "phish"))
        await act(handle, "complete_step", step="evidence", note="kept")
        disk = snapshot_of(HARDWARE, "disk")
        view = await act(
            handle,
            "update",
            category="hardware",
            model=disk.model_dump(mode="json"),
        )
        assert view.playbook is not None and view.playbook.model == "disk"
        assert _steps(view) == {"diagnose": "ready", "replace": "waiting"}
        [previous] = view.previous_playbooks
        assert previous.model == "phish" and previous.replaced_at == view.updated_at
        assert (previous.steps[0].id, previous.steps[0].state, previous.steps[0].note) == (
            "evidence", "done", "kept",
        )  # fmt: skip
        [update] = await entries_of(handle, "update")
        assert update.details["playbook"]["model"] == "disk"
        assert update.details["playbook"]["replaces"].startswith("phish@")
        # The same model again keeps the version the incident has.
        again = await act(handle, "update", subcategory="disk", model=disk.model_dump(mode="json"))
        assert again.playbook == view.playbook and len(again.previous_playbooks) == 1


async def test_the_shipped_hardware_model_without_its_vendor_fails_the_step_clearly(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> None:
    """policy/default.toml has `[vendors.hardware-support]` commented out: the model's vendor
    step fails, saying why, the incident goes on, and an agent does the step by hand."""
    policy = parse_policy((PROJECT_DIR / "policy" / "default.toml").read_text(), "default.toml")
    assert "hardware-support" not in policy.vendors
    model = load_dir(DEFAULT_MODELS_DIR).snapshot("hardware-failure", {})
    async with build_worker(time_env.client, task_queue, store, policy=policy):
        handle, _ = await _open(
            time_env, task_queue, model, short_description="Laptop dead",
            category="hardware", subcategory="failure",
        )  # fmt: skip
        await act(handle, "complete_step", step="diagnose", note="mainboard")
        view = await eventually(
            lambda: view_of(handle), lambda v: _steps(v)["vendor-ticket"] == "failed", seconds=60
        )
        assert view.status == "assigned" and _steps(view)["replace"] == "waiting"
        [ticket_failed] = await entries_of(handle, "vendor_ticket_failed")
        assert "unknown vendor 'hardware-support'" in json.dumps(ticket_failed.details)
        [step_failed] = await entries_of(handle, "step_failed")
        assert "hardware-support" in step_failed.details["error"]

        done = await act(handle, "complete_step", step="vendor-ticket", note="ticket by phone")
        assert _steps(done)["vendor-ticket"] == "done" and _steps(done)["replace"] == "ready"
