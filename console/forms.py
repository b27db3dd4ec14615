"""Lifecycle actions as HTML forms, drawn from the API's own body models
(`api.service.incidents.body_model`), and a posted form back into that model: the pages add no
field, no check and no rule of their own. Which forms show is the view's `allowed_actions`.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from api.service import incidents
from domain.messages import summary
from domain.models import Action

LONG_TEXT_FIELDS = frozenset(
    {
        "text",
        "note",
        "reason",
        "resolution_notes",
        "description",
        "summary",
        "root_cause",
        "lessons",
    }
)
# Words a person reads on the button; the action's own name otherwise.
BUTTONS = {
    Action.CLOSE: "Close (confirm the resolution)",
    Action.REOPEN: "Reopen (the problem is not solved)",
    Action.COMMENT: "Add comment",
    Action.REVIEW: "Write the post-incident review",
}


@dataclass
class FormField:
    name: str
    kind: str  # text, textarea, select, checkbox, number, lines, items
    required: bool
    description: str = ""
    choices: list[str] = field(default_factory=list)
    default: str = ""
    columns: list[str] = field(default_factory=list)  # an item's fields, for `items`

    @property
    def hint(self) -> str:
        """How a person types a list: one entry a line, an item's fields split by `|`."""
        if self.kind == "lines":
            return "one per line"
        if self.kind == "items":
            return "one per line: " + " | ".join(self.columns)
        return ""


@dataclass
class ActionForm:
    action: Action
    fields: list[FormField]

    @property
    def title(self) -> str:
        return self.action.value.replace("_", " ")

    @property
    def button(self) -> str:
        return BUTTONS.get(self.action, self.title.capitalize())


def _plain_type(annotation: Any) -> Any:
    """`X | None` and `Optional[X]` as X; None for a type a form cannot hold (lists, models)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(options) != 1:
            return None
        annotation = options[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation if isinstance(annotation, type) else None


def _list_field(name: str, info: Any) -> FormField | None:
    """A list of text (`lines`) or of small models (`items`, one a line); None otherwise."""
    if typing.get_origin(info.annotation) is not list:
        return None
    (item,) = typing.get_args(info.annotation)
    kind_of = _plain_type(item)
    if kind_of is str:
        return FormField(name, "lines", info.is_required(), info.description or "")
    if kind_of is not None and issubclass(kind_of, BaseModel):
        columns = [
            column if part.is_required() else f"{column} (optional)"
            for column, part in kind_of.model_fields.items()
        ]
        return FormField(name, "items", info.is_required(), info.description or "", columns=columns)
    return None


def _form_field(name: str, info: Any) -> FormField | None:
    listed = _list_field(name, info)
    if listed is not None:
        return listed
    kind_of = _plain_type(info.annotation)
    if kind_of is None or issubclass(kind_of, BaseModel):
        return None
    required = info.is_required()
    default = (
        "" if info.default in (None, ...) else str(getattr(info.default, "value", info.default))
    )
    described = info.description or ""
    if issubclass(kind_of, Enum):
        choices = [str(member.value) for member in kind_of]
        return FormField(name, "select", required, described, choices, default)
    if kind_of is bool:
        return FormField(name, "checkbox", False, described, default=default)
    if kind_of is int:
        return FormField(name, "number", required, described, default=default)
    if kind_of is str:
        kind = "textarea" if name in LONG_TEXT_FIELDS else "text"
        return FormField(name, kind, required, described, default=default)
    return None


# A comment's reply template and its values: the page draws those itself (a list of the
# templates, then the values the chosen one asks for, `vars.<name>`).
TEMPLATE_FIELDS = frozenset({"template", "vars"})
VARS_PREFIX = "vars."


def action_form(action: Action) -> ActionForm | None:
    """The form of an action, or None when a required field is one a form cannot hold."""
    fields = []
    for name, info in incidents.body_model(action).model_fields.items():
        if action == Action.COMMENT and name in TEMPLATE_FIELDS:
            continue
        found = _form_field(name, info)
        if found is None:
            if info.is_required():
                return None
            continue
        fields.append(found)
    return ActionForm(action, fields)


# Taken on a playbook step, by the forms beside each step (templates/_playbook.html).
STEP_ACTIONS = frozenset({"complete_step", "skip_step"})


def forms_for(actions: list[Action]) -> list[ActionForm]:
    """The forms of the actions panel: every action but the playbook steps'."""
    return [
        form
        for action in actions
        if action.value not in STEP_ACTIONS and (form := action_form(action)) is not None
    ]


class FormProblem(Exception):
    """The posted form does not make a valid body; the message names the fields."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def body_from(action: Action, form: FormData) -> BaseModel:
    """The action's API body from a posted form: empty optional fields left out, numbers and
    checkboxes typed, then the model's own validation."""
    found = action_form(action)
    if found is None:
        raise FormProblem(f"{action.value} is not available as a form")
    values: dict[str, Any] = {}
    for item in found.fields:
        raw = form.get(item.name)
        if item.kind == "checkbox":
            if raw is not None:
                values[item.name] = True
            continue
        if not isinstance(raw, str) or raw.strip() == "":
            continue
        if item.kind in ("lines", "items"):
            values[item.name] = _listed(item, raw)
        elif item.kind == "number":
            try:
                values[item.name] = int(raw)
            except ValueError:
                raise FormProblem(f"{item.name}: not a whole number") from None
        else:
            values[item.name] = raw
    if action == Action.COMMENT:
        values |= _template(form)
    return validated(incidents.body_model(action), values)


def _listed(item: FormField, raw: str) -> list[Any]:
    """A textarea's non-blank lines; for `items`, each line's `|`-separated parts by column
    (blank optional parts left out). The model's validation judges the result."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if item.kind == "lines":
        return lines
    names = [column.removesuffix(" (optional)") for column in item.columns]
    rows = []
    for line in lines:
        parts = [part.strip() for part in line.split("|")]
        if len(parts) > len(names):
            raise FormProblem(f"{item.name}: at most {len(names)} parts a line ({item.hint})")
        rows.append({name: part for name, part in zip(names, parts, strict=False) if part})
    return rows


def _template(form: FormData) -> dict[str, Any]:
    name = form.get("template")
    if not isinstance(name, str) or not name:
        return {}
    given = {
        key.removeprefix(VARS_PREFIX): value
        for key, value in form.multi_items()
        if key.startswith(VARS_PREFIX) and isinstance(value, str)
    }
    return {"template": name, "vars": given}


def validated(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise FormProblem(summary(error, "form")) from None
