"""The action forms come from the API's own body models: every action a form can hold has one,
and a posted form becomes the same body the API would take (no second copy of a field)."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from api.service import incidents
from console import forms, render
from domain.lifecycle import TRANSITIONS
from domain.models import Action


def test_every_action_is_a_form_with_the_bodys_fields() -> None:
    for action in TRANSITIONS:
        form = forms.action_form(action)
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


def test_a_review_takes_its_lists_one_entry_a_line() -> None:
    form = forms.action_form(Action.REVIEW)
    assert form is not None
    actions = next(f for f in form.fields if f.name == "actions")
    assert actions.hint == "one per line: action | owner | due (optional)"
    posted = FormData(
        [
            ("summary", "Mail down for an hour"),
            ("root_cause", "A full disk"),
            ("lessons", "Watch the disk"),
            ("highlights", "09:00 first call\n\n  09:40 disk cleaned  \n"),
            ("actions", "Add a disk alert | sam | 2026-12-15\nReview retention | morgan\n"),
        ]
    )
    body = forms.body_from(Action.REVIEW, posted).model_dump(mode="json", exclude_unset=True)
    assert body["highlights"] == ["09:00 first call", "09:40 disk cleaned"]
    assert body["actions"] == [
        {"action": "Add a disk alert", "owner": "sam", "due": "2026-12-15"},
        {"action": "Review retention", "owner": "morgan"},
    ]
    with pytest.raises(forms.FormProblem, match="actions"):
        forms.body_from(Action.REVIEW, FormData([*posted.multi_items()[:4], ("actions", "")]))
    with pytest.raises(forms.FormProblem, match="at most 3 parts"):
        forms.body_from(
            Action.REVIEW, FormData([*posted.multi_items()[:4], ("actions", "a | b | c | d")])
        )
    with pytest.raises(forms.FormProblem, match="due"):
        forms.body_from(
            Action.REVIEW, FormData([*posted.multi_items()[:4], ("actions", "a | sam | soon")])
        )


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
