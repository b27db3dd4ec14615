"""The action forms come from the API's own body models: every action a form can hold has one,
and a posted form becomes the same body the API would take (no second copy of a field)."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from api.service import incidents
from console import forms, render
from domain.lifecycle import TRANSITIONS
from domain.models import Action


def test_every_action_but_a_review_is_a_form_with_the_bodys_fields() -> None:
    for action in TRANSITIONS:
        form = forms.action_form(action)
        if action == Action.REVIEW:
            assert form is None  # a list of action items: the API takes those
            continue
        assert form is not None, action
        model = incidents.body_model(action).model_fields
        required = {name for name, info in model.items() if info.is_required()}
        assert required <= {f.name for f in form.fields}, action


def test_a_posted_form_is_the_apis_body() -> None:
    body = forms.body_from(
        Action.RESOLVE,
        FormData([("resolution_code", "fixed"), ("resolution_notes", "done"), ("category", "")]),
    )
    assert body.model_dump(exclude_unset=True) == {
        "resolution_code": "fixed",
        "resolution_notes": "done",
    }
    with pytest.raises(forms.FormProblem, match="resolution_notes"):
        forms.body_from(Action.RESOLVE, FormData([("resolution_code", "fixed")]))
    comment = forms.body_from(
        Action.COMMENT,
        FormData([("template", "awaiting-information"), ("vars.question", "Which printer?")]),
    )
    assert comment.model_dump(exclude_unset=True) == {
        "template": "awaiting-information",
        "vars": {"question": "Which printer?"},
    }


def test_text_that_would_misrender_is_neutralised() -> None:
    page = render.environment.from_string("<p>{{ text }}</p>").render(
        text="a\u202eb\u2066c\u200bd<i>e</i>\nf"
    )
    assert page == "<p>a\ufffdb\ufffdc\ufffdd&lt;i&gt;e&lt;/i&gt;\nf</p>"


def test_playbook_steps_offer_the_readers_step_actions() -> None:
    """Rendered from the view's `playbook` (duck-typed here: the step model is the playbooks
    work's); a required step is never offered a skip."""
    from types import SimpleNamespace as Thing

    steps = [
        Thing(id="triage", title="Triage", instructions="Check <the> logs", state="ready",
              kind="manual", required=True, owner_group="desk", due_at=None, by=None, at=None,
              note=None, error=None),
        Thing(id="notify", title="Tell HR", instructions="", state="waiting", kind="manual",
              required=False, owner_group=None, due_at=None, by=None, at=None, note=None,
              error=None),
    ]  # fmt: skip
    playbook = Thing(title="Data loss", model="data-loss", version="1", steps=steps)
    incident = Thing(
        number="INC0000001",
        allowed_actions=[Thing(value="complete_step"), Thing(value="skip_step")],
    )
    page = render.environment.get_template("_playbook.html").render(
        playbook=playbook, incident=incident, csrf_field="csrf_token", csrf_token="t"
    )
    assert "Check &lt;the&gt; logs" in page
    assert page.count('data-step-action="complete"') == 1  # the ready step
    assert page.count('data-step-action="skip"') == 1  # the optional one, not the required
    assert 'name="step" value="notify"' in page
