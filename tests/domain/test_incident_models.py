"""Incident models as an operator writes them: every mistake named by file and key, the
shipped models valid, matching by specificity, and steps worked in dependency order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.notifications import SHIPPED_TEMPLATES, render
from core.settings import DEFAULT_MODELS_DIR, Settings, load_models
from domain import lifecycle, notifications, playbook_runs, playbooks, presentation
from domain.incident_models import ModelError, StepState, load_catalogue
from domain.models import Action, CompleteStepRequest, IncidentCreate, SkipStepRequest
from domain.policy import Policy, Priority, parse_policy
from tests.support.factories import next_number
from tests.support.playbooks import REPLIES, catalogue_of, snapshot_of

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

CHAIN = """
[models.outage]
title = "Outage"
match = { category = "network" }
defaults = { group = "network-l1", impact = 1, description = "Outage: {short_description}" }

[[models.outage.steps]]
id = "scope"
title = "Establish the scope"
required = true

[[models.outage.steps]]
id = "fix"
title = "Fix it"
after = ["scope"]
required = true

[[models.outage.steps]]
id = "failover"
title = "Fail over"
after = ["scope"]
when = { priority = ["P1"] }

[[models.outage.steps]]
id = "lessons"
title = "Write down the lessons"
after = ["fix", "failover"]
"""


def _bad(tmp_path: Path, text: str) -> str:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ModelError) as error:
        load_catalogue({}, "policy.toml", tmp_path, REPLIES)
    return str(error.value)


def _model(steps: str) -> str:
    return f'[models.m]\ntitle = "M"\nmatch = {{ category = "x" }}\n{steps}'


def test_an_unknown_step_in_after_names_file_and_key(tmp_path: Path) -> None:
    message = _bad(tmp_path, _model('[[models.m.steps]]\nid = "a"\ntitle = "A"\nafter = ["zz"]\n'))
    assert message == f"{tmp_path / 'bad.toml'}: models.m.steps.0.after: unknown step 'zz'"


def test_a_cycle_names_file_key_and_the_steps_along_it(tmp_path: Path) -> None:
    steps = "".join(
        f'[[models.m.steps]]\nid = "{a}"\ntitle = "{a}"\nafter = ["{b}"]\n'
        for a, b in (("a", "c"), ("b", "a"), ("c", "b"))
    )
    message = _bad(tmp_path, _model(steps))
    assert message.startswith(f"{tmp_path / 'bad.toml'}: models.m.steps.0.after: a cycle: ")
    assert "a -> c -> b -> a" in message


def test_an_unknown_kind_or_activity_names_file_and_key(tmp_path: Path) -> None:
    kind = _bad(tmp_path, _model('[[models.m.steps]]\nid = "a"\ntitle = "A"\nkind = "magic"\n'))
    assert kind.startswith(f"{tmp_path / 'bad.toml'}: models.m.steps.0.kind: Input should be")
    activity = _bad(
        tmp_path,
        _model('[[models.m.steps]]\nid = "a"\ntitle = "A"\nkind = "automated"\nactivity = "fax"\n'),
    )
    assert "models.m.steps.0.activity: Input should be" in activity


def test_a_bad_when_or_placeholder_or_duration_is_named(tmp_path: Path) -> None:
    when = _bad(
        tmp_path,
        _model('[[models.m.steps]]\nid = "a"\ntitle = "A"\nwhen = { priority = ["P9"] }\n'),
    )
    assert "models.m.steps.0.when.priority.0" in when
    placeholder = _bad(
        tmp_path,
        _model(
            '[[models.m.steps]]\nid = "a"\ntitle = "A"\nkind = "automated"\nactivity = "notify"\n'
            'notify = { recipients = ["owner"], template = "{secret}" }\n'
        ),
    )
    assert "models.m.steps.0.notify.template: unknown placeholder {secret}" in placeholder
    due = _bad(tmp_path, _model('[[models.m.steps]]\nid = "a"\ntitle = "A"\ndue = "soon"\n'))
    assert "models.m.steps.0.due:" in due


def test_an_automated_step_needs_its_table(tmp_path: Path) -> None:
    message = _bad(
        tmp_path,
        _model(
            '[[models.m.steps]]\nid = "a"\ntitle = "A"\nkind = "automated"\nactivity = "http"\n'
        ),
    )
    assert "models.m.steps.0: Value error, activity 'http' needs its [http] table" in message


def test_too_many_steps_are_refused(tmp_path: Path) -> None:
    steps = "".join(f'[[models.m.steps]]\nid = "s{i}"\ntitle = "S"\n' for i in range(31))
    assert "models.m.steps: List should have at most 30 items" in _bad(tmp_path, _model(steps))


def test_models_of_the_policy_are_checked_too(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(_model('[[models.m.steps]]\nid = "a"\ntitle = "A"\nafter = ["a"]\n'))
    settings = Settings(policy_file=policy_file, models_dir=None)
    with pytest.raises(ModelError) as error:
        load_models(settings, parse_policy(policy_file.read_text()))
    assert str(error.value) == f"{policy_file}: models.m.steps.0.after: a cycle: a -> a"


def test_the_shipped_models_all_load_and_validate() -> None:
    catalogue = load_models(Settings(), Policy())
    assert sorted(catalogue.models) == [
        "data-loss", "hardware-failure", "network-outage", "phishing", "power-outage",
        "release-rollback", "service-degradation",
    ]  # fmt: skip
    for name, spec in catalogue.models.items():
        assert catalogue.sources[name].startswith(str(DEFAULT_MODELS_DIR))
        assert any(step.kind == "automated" for step in spec.steps), name
        assert any(step.required for step in spec.steps), name
        snapshot = catalogue.snapshot(name, {})
        assert len(snapshot.version) == 12 and all(step.owner_group for step in snapshot.steps)


def test_the_most_specific_model_wins_and_ties_go_by_name() -> None:
    catalogue = catalogue_of(
        """
[models.net]
title = "Net"
match = { category = "network" }
steps = [{ id = "a", title = "A" }]
[models.net-vpn]
title = "VPN"
match = { category = "network", service = "vpn" }
steps = [{ id = "a", title = "A" }]
[models.b-urgent]
title = "Urgent"
match = { category = "network", priority = ["P1"] }
steps = [{ id = "a", title = "A" }]
[models.a-urgent]
title = "Urgent too"
match = { service = "vpn", priority = ["P1"] }
steps = [{ id = "a", title = "A" }]
"""
    )
    assert catalogue.match("network", None, "dns", Priority.P3) == "net"
    assert catalogue.match("network", None, "vpn", Priority.P3) == "net-vpn"
    assert catalogue.match("network", None, "vpn", Priority.P1) == "a-urgent"
    assert catalogue.match("database", None, None, Priority.P1) is None


def _opened(text: str = CHAIN, **fields: object) -> lifecycle.IncidentState:
    create = IncidentCreate(short_description="Core switch down", category="network", **fields)  # type: ignore[arg-type]
    return lifecycle.open_incident(
        next_number(), create, "alice", "sam", Policy(), NOW, model=snapshot_of(text, "outage")
    )


def test_defaults_fill_what_the_caller_left_out_and_the_playbook_is_attached() -> None:
    state = _opened(urgency=3)
    assert (state.impact, state.urgency, state.priority) == (1, 3, Priority.P3)
    assert state.assignment_group == "network-l1" and state.status == "assigned"
    assert state.description == "Outage: Core switch down"
    assert state.playbook is not None and state.playbook.model == "outage"
    assert [entry.kind for entry in state.timeline][-1] == "playbook_attached"
    states = {step.id: step.state for step in state.playbook.steps}
    assert states == {
        "scope": "ready",
        "fix": "waiting",
        "failover": "waiting",
        "lessons": "waiting",
    }


def test_steps_unlock_in_dependency_order_and_resolve_waits_for_the_required() -> None:
    state = _opened()
    resolve = lifecycle.TRANSITIONS[Action.RESOLVE].request(
        actor="sam", resolution_code="fixed", resolution_notes="Replaced the switch"
    )
    with pytest.raises(ApplicationError) as blocked:
        lifecycle.check(state, Action.RESOLVE, resolve)
    assert blocked.value.type == lifecycle.INVALID_TRANSITION
    assert blocked.value.details[0]["missing"] == ["scope", "fix"]

    with pytest.raises(ApplicationError) as early:
        lifecycle.apply(
            state, Action.COMPLETE_STEP, CompleteStepRequest(actor="sam", step="fix"), NOW
        )
    assert early.value.type == lifecycle.INVALID_TRANSITION
    assert early.value.details[0]["missing"] == ["scope"]

    later = NOW + timedelta(minutes=5)
    lifecycle.apply(
        state,
        Action.COMPLETE_STEP,
        CompleteStepRequest(actor="sam", step="scope", note="one site"),
        later,
    )
    assert state.playbook is not None
    steps = {step.id: step for step in state.playbook.steps}
    assert (steps["scope"].state, steps["scope"].by, steps["scope"].at) == ("done", "sam", later)
    assert steps["fix"].state == StepState.READY
    assert steps["failover"].state == StepState.NOT_NEEDED  # P3: its `when` wants P1
    assert steps["lessons"].state == StepState.WAITING

    with pytest.raises(ApplicationError) as required:
        lifecycle.apply(
            state, Action.SKIP_STEP, SkipStepRequest(actor="sam", step="fix", reason="no"), later
        )
    assert required.value.type == lifecycle.INVALID_TRANSITION
    lifecycle.apply(
        state, Action.COMPLETE_STEP, CompleteStepRequest(actor="sam", step="fix"), later
    )
    assert steps["lessons"].state == StepState.READY
    lifecycle.apply(
        state, Action.SKIP_STEP, SkipStepRequest(actor="sam", step="lessons", reason="known"), later
    )
    assert playbooks.open_required(state) == []
    lifecycle.apply(
        state,
        Action.START,
        lifecycle.TRANSITIONS[Action.START].request(actor="sam", assignee="sam"),
        later,
    )
    assert lifecycle.apply(state, Action.RESOLVE, resolve, later).kind == "resolve"


def test_an_unknown_step_is_a_bad_request() -> None:
    state = _opened()
    with pytest.raises(ApplicationError) as unknown:
        lifecycle.check(state, Action.COMPLETE_STEP, CompleteStepRequest(actor="sam", step="nope"))
    assert unknown.value.type == lifecycle.INVALID_REQUEST
    assert unknown.value.details[0]["field"] == "step"


REPLY_STEP = """
[models.ask]
title = "Ask the caller"
match = { category = "printing" }

[[models.ask.steps]]
id = "ask"
title = "Ask which printer"
kind = "automated"
activity = "comment"
comment = { template = "awaiting-information", vars = { question = "Which printer, and where?" } }
"""


def test_a_comment_step_posts_its_reply_template_publicly() -> None:
    create = IncidentCreate(short_description="Printer jams", category="printing")
    state = lifecycle.open_incident(
        next_number(), create, "alice", "sam", Policy(), NOW, model=snapshot_of(REPLY_STEP, "ask")
    )
    assert playbook_runs.advance(state, NOW) == []
    comment = next(entry for entry in state.timeline if entry.kind == "comment")
    assert (comment.actor, comment.details["visibility"]) == ("playbook", "public")
    assert comment.details["text"].startswith("Hello alice,")
    assert "Which printer, and where?" in comment.details["text"]
    assert f'"Printer jams" ({state.number})' in comment.details["text"]
    assert state.playbook is not None and state.playbook.steps[0].state == StepState.DONE


def test_a_comment_step_needs_a_known_template_and_its_vars() -> None:
    with pytest.raises(ModelError) as unknown:
        catalogue_of(REPLY_STEP.replace("awaiting-information", "no-such-reply"))
    assert "models.ask.steps.0.comment.template: no reply template 'no-such-reply'" in str(
        unknown.value
    )
    with pytest.raises(ModelError) as missing:
        catalogue_of(REPLY_STEP.replace(', vars = { question = "Which printer, and where?" }', ""))
    assert (
        "models.ask.steps.0.comment.vars: the reply template 'awaiting-information' needs question"
        in str(missing.value)
    )


def test_the_temporal_ui_details_show_the_playbook() -> None:
    state = _opened()
    details = presentation.current_details(state, NOW)
    assert state.playbook is not None
    assert f"- playbook outage ({state.playbook.version}): 0/4 done; ready: scope" in details


NOTICE = """
[models.tell]
title = "Tell"
match = { category = "network" }
defaults = { group = "network-l1" }

[[models.tell.steps]]
id = "tell"
title = "Tell the stakeholders"
kind = "automated"
activity = "notify"
notify = { recipients = ["owner", "stakeholders"], template = "{number} is being handled" }
"""


def test_a_notify_step_reaches_its_recipients_with_its_text() -> None:
    policy = parse_policy("""
[contacts]
stakeholders = ["cio"]
[notifications]
routes = { group = ["mail"], stakeholders = ["mail"] }
[notifications.channels.mail]
type = "email"
""")  # fmt: skip
    create = IncidentCreate(short_description="Core switch down", category="network")
    state = lifecycle.open_incident(
        next_number(), create, "alice", "sam", policy, NOW, model=snapshot_of(NOTICE, "tell")
    )
    playbook_runs.advance(state, NOW)
    seq, notice = next(
        (state.timeline_offset + i, e)
        for i, e in enumerate(state.timeline)
        if e.kind == "playbook_notice"
    )
    deliveries = notifications.deliveries_for(state, notice, seq)
    assert sorted((d.role, d.recipient) for d in deliveries) == [
        ("group", "network-l1"), ("stakeholders", "cio"),
    ]  # fmt: skip
    subject, body = render(deliveries[0], [SHIPPED_TEMPLATES])
    assert subject == f"[{state.number}] Core switch down"
    assert body.startswith(f"{state.number} is being handled")
