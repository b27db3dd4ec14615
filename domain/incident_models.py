"""Incident models (contract 14): standard resolution paths for typical incidents.

A model matches incidents by category, subcategory, service and priority, sets defaults
(group, impact, urgency, description) and brings a playbook: steps with dependencies, some
worked by people (`manual`), some run by the worker (`automated`: an HTTP call, a notice, a
vendor ticket, a major-incident declaration, a public comment from a reply template).

Models come from `[models.NAME]` tables of the policy file and from the TOML files of the
models folder; they are validated whole at start-up, and an error names the file and the key.
Matching happens outside the workflow (the API, before it starts or updates an incident): the
incident is handed a `ModelSnapshot` and keeps it, so a model file changed later applies to
new incidents only. Pure: the loader reads files, the rest is plain functions.
"""

from __future__ import annotations

import hashlib
import string
import tomllib
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from domain.calendar import TWENTY_FOUR_SEVEN, parse_duration
from domain.messages import summary
from domain.policy import Priority

MAX_STEPS = 30
MAX_SNAPSHOT_BYTES = 64 * 1024  # one model's snapshot, as the incident's workflow state keeps it
KEPT_PLAYBOOKS = 3  # earlier playbooks an incident keeps on record after re-categorisation

StepId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
Instructions = Annotated[str, StringConstraints(max_length=4000)]
TemplateText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Group = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]

# What a template (an http body, a notice, a vendor summary, a comment) may name of the
# incident: `{number}`, `{short_description}`...
PLACEHOLDERS = frozenset(
    {
        "number",
        "short_description",
        "caller",
        "caller_name",
        "priority",
        "status",
        "category",
        "subcategory",
        "service",
        "assignment_group",
        "assignee",
        "assignee_name",
        "group",
        "due",
        "resolution_notes",
        "model",
        "step",
    }
)


class ModelError(ValueError):
    """A model file or `[models.NAME]` table is unusable; the message names file and key."""


class StepKind(StrEnum):
    MANUAL = "manual"
    AUTOMATED = "automated"


class StepActivity(StrEnum):
    HTTP = "http"
    NOTIFY = "notify"
    VENDOR_TICKET = "vendor_ticket"
    DECLARE_MAJOR = "declare_major"
    COMMENT = "comment"


class StepState(StrEnum):
    WAITING = "waiting"  # a step it comes `after` is not done yet
    READY = "ready"  # may be worked (manual) or is about to run (automated)
    RUNNING = "running"  # automated: its activity is under way
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"  # automated: gave up after its retries; an agent retries or does it
    NOT_NEEDED = "not_needed"  # its `when` did not hold when it came up


FINISHED = frozenset({StepState.DONE, StepState.SKIPPED, StepState.NOT_NEEDED})


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpCall(Spec):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2000)]
    body: dict[str, Any] | None = None  # JSON; string values may hold placeholders
    expect: Annotated[int, Field(ge=100, le=599)] = 200  # the status that means success


class NoticeCall(Spec):
    # roles (caller, assignee, group, owner, incident_manager, stakeholders) or group/person
    recipients: tuple[Group, ...] = Field(min_length=1, max_length=20)
    template: TemplateText


class VendorCall(Spec):
    vendor: Group
    summary: TemplateText


class CommentCall(Spec):
    """A public comment: a reply template's text (`templates/replies/NAME.md`, read when the
    models load) with the template's `vars`, or a `text` of the model's own."""

    template: Group | None = None
    vars: dict[str, Annotated[str, StringConstraints(max_length=500)]] = {}
    text: Annotated[str, StringConstraints(max_length=4000)] = ""

    @model_validator(mode="after")
    def _one_source(self) -> CommentCall:
        if self.template is None and not self.text:
            raise ValueError("give a reply `template` or a `text`")
        return self


class DeclareMajorCall(Spec):
    reason: TemplateText = "declared by the playbook"


class StepCondition(Spec):
    """`when`: every key given must hold (priority among, major as given, category among)."""

    priority: tuple[Priority, ...] = ()
    major: bool | None = None
    category: tuple[str, ...] = ()

    def holds(self, priority: Priority, major: bool, category: str | None) -> bool:
        return (
            (not self.priority or priority in self.priority)
            and (self.major is None or self.major == major)
            and (not self.category or category in self.category)
        )


class StepSpec(Spec):
    id: StepId
    title: Title
    instructions: Instructions = ""  # markdown
    after: tuple[StepId, ...] = ()
    kind: StepKind = StepKind.MANUAL
    activity: StepActivity | None = None
    required: bool = False
    owner: Group | None = None  # the owner group; default: the model's default group
    due: str | None = None  # from when the step is ready; a reminder to the owner then
    overdue_after: str | None = None  # after `due`, the owner group's lead hears (default: due)
    when: StepCondition | None = None
    http: HttpCall | None = None
    notify: NoticeCall | None = None
    vendor_ticket: VendorCall | None = None
    declare_major: DeclareMajorCall | None = None
    comment: CommentCall | None = None

    @model_validator(mode="after")
    def _kind_matches(self) -> StepSpec:
        given = [activity.value for activity in StepActivity if getattr(self, activity.value)]
        if self.kind == StepKind.MANUAL:
            if self.activity is not None or given:
                raise ValueError("a manual step has no activity (kind = 'automated' for one)")
            return self
        if self.activity is None:
            raise ValueError("an automated step needs an activity: " + _choices())
        needs_table = self.activity not in (StepActivity.DECLARE_MAJOR,)
        if needs_table and getattr(self, self.activity.value) is None:
            raise ValueError(f"activity '{self.activity}' needs its [{self.activity}] table")
        if [name for name in given if name != self.activity.value]:
            raise ValueError(f"only the [{self.activity}] table belongs to this step")
        return self


class ModelMatch(Spec):
    category: str | None = None
    subcategory: str | None = None
    service: str | None = None
    priority: tuple[Priority, ...] = ()

    @property
    def specificity(self) -> int:
        given = (self.category, self.subcategory, self.service)
        return sum(value is not None for value in given) + (1 if self.priority else 0)

    def matches(
        self,
        category: str | None,
        subcategory: str | None,
        service: str | None,
        priority: Priority,
    ) -> bool:
        wanted = ((self.category, category), (self.subcategory, subcategory))
        return (
            all(rule is None or rule == given for rule, given in wanted)
            and (self.service is None or self.service == service)
            and (not self.priority or priority in self.priority)
        )


class ModelDefaults(Spec):
    group: Group | None = None
    impact: Annotated[int, Field(ge=1, le=3)] | None = None
    urgency: Annotated[int, Field(ge=1, le=3)] | None = None
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None


class ModelSpec(Spec):
    title: Title
    match: ModelMatch = ModelMatch()
    defaults: ModelDefaults = ModelDefaults()
    steps: list[StepSpec] = Field(min_length=1, max_length=MAX_STEPS)


class ModelsFile(Spec):
    models: dict[ModelName, ModelSpec] = {}


# --- what an incident keeps ---------------------------------------------------------------


class PlaybookStep(BaseModel):
    """One step as the incident keeps it: its definition (from the model version the incident
    started with) and where it stands."""

    id: str
    title: str
    instructions: str = ""
    after: list[str] = []
    kind: StepKind = StepKind.MANUAL
    activity: StepActivity | None = None
    required: bool = False
    owner_group: str | None = None
    owner_lead: str | None = None  # the owner group's lead, from the directory
    due_seconds: float | None = None
    overdue_seconds: float | None = None
    when: StepCondition | None = None
    http: HttpCall | None = None
    notify: NoticeCall | None = None
    vendor_ticket: VendorCall | None = None
    declare_major: DeclareMajorCall | None = None
    comment: CommentCall | None = None
    # where it stands
    state: StepState = StepState.WAITING
    by: str | None = None  # who completed or skipped it (`playbook` for an automated run)
    at: datetime | None = None  # when it last changed state
    note: str | None = None  # the note of a completion, the reason of a skip
    error: str | None = None  # why an automated run failed
    result: str | None = None  # what an automated run brought back, in a line
    attempts: int = 0  # automated runs started
    ready_at: datetime | None = None
    due_at: datetime | None = None
    reminded: bool = False
    overdue_reminded: bool = False
    ticket_key: str | None = None  # vendor_ticket: the ticket it opened


class Playbook(BaseModel):
    model: str
    title: str
    version: str
    attached_at: datetime
    replaced_at: datetime | None = None  # set once a re-categorisation brought another one
    steps: list[PlaybookStep]

    def step(self, step_id: str) -> PlaybookStep | None:
        return next((step for step in self.steps if step.id == step_id), None)


class ModelSnapshot(BaseModel):
    """A model as one incident receives it: resolved outside the workflow, carried inside it."""

    name: str
    title: str
    version: str
    defaults: ModelDefaults
    steps: list[PlaybookStep]


# --- the catalogue ------------------------------------------------------------------------


class Catalogue:
    """Every model, validated; `match` picks one for an incident."""

    def __init__(self, models: Mapping[str, ModelSpec], sources: Mapping[str, str]) -> None:
        self.models = dict(models)
        self.sources = dict(sources)  # model name -> the file it came from

    def __len__(self) -> int:
        return len(self.models)

    def match(
        self,
        category: str | None,
        subcategory: str | None,
        service: str | None,
        priority: Priority,
    ) -> str | None:
        """The most specific matching model; a tie goes to the first name in order. A model
        with no match keys at all matches nothing (it would take every incident)."""
        found = [
            (-spec.match.specificity, name)
            for name, spec in self.models.items()
            if spec.match.specificity
            and spec.match.matches(category, subcategory, service, priority)
        ]
        return min(found)[1] if found else None

    def snapshot(self, name: str, leads: Mapping[str, str | None]) -> ModelSnapshot:
        """The model as an incident keeps it; `leads` are the directory's group leads."""
        spec = self.models[name]
        steps = []
        for step in spec.steps:
            owner = step.owner or spec.defaults.group
            due = _seconds(step.due)
            overdue = _seconds(step.overdue_after) if step.overdue_after else due
            fields = step.model_dump(exclude={"owner", "due", "overdue_after"}, exclude_none=True)
            steps.append(
                PlaybookStep(
                    **fields,
                    owner_group=owner,
                    owner_lead=leads.get(owner) if owner else None,
                    due_seconds=due,
                    overdue_seconds=overdue,
                )
            )
        return ModelSnapshot(
            name=name, title=spec.title, version=version_of(spec), defaults=spec.defaults,
            steps=steps,
        )  # fmt: skip


def version_of(spec: ModelSpec) -> str:
    """A digest of the model's content: two incidents show the same version only if they
    started with the same steps."""
    text = spec.model_dump_json()
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _seconds(duration: str | None) -> float | None:
    return None if duration is None else parse_duration(duration, TWENTY_FOUR_SEVEN)


# --- loading ------------------------------------------------------------------------------


def load_catalogue(
    policy_models: Mapping[str, Any],
    policy_source: str,
    models_dir: Path | None,
    replies: Mapping[str, str] | None = None,
) -> Catalogue:
    """The policy's `[models.NAME]` tables and every `*.toml` of `models_dir`, checked whole;
    `replies` are the reply templates' texts by name. Raises ModelError naming the file and
    the key."""
    models: dict[str, ModelSpec] = {}
    sources: dict[str, str] = {}
    tables: list[tuple[str, Mapping[str, Any]]] = [(policy_source, {"models": policy_models})]
    if models_dir is not None:
        if not models_dir.is_dir():
            raise ModelError(f"{models_dir}: the models folder does not exist")
        for path in sorted(models_dir.glob("*.toml")):
            try:
                tables.append((str(path), tomllib.loads(path.read_text(encoding="utf-8"))))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as problem:
                raise ModelError(f"{path}: not a readable TOML file: {problem}") from None
    for source, raw in tables:
        for name, spec in parse_models(raw, source, replies).items():
            if name in models:
                raise ModelError(f"{source}: models.{name}: already defined in {sources[name]}")
            models[name], sources[name] = spec, source
    return Catalogue(models, sources)


def parse_models(
    raw: Mapping[str, Any], source: str, replies: Mapping[str, str] | None = None
) -> dict[str, ModelSpec]:
    try:
        parsed = ModelsFile.model_validate(raw)
    except ValidationError as problem:
        raise ModelError(f"{source}: {summary(problem, '(top)')}") from None
    checked = {}
    for name, spec in parsed.models.items():
        where = f"{source}: models.{name}"
        _check_steps(spec, where)
        checked[name] = _with_reply_texts(spec, where, replies or {})
        size = len(ModelSnapshot.model_validate(
            Catalogue(checked, {}).snapshot(name, {})
        ).model_dump_json())  # fmt: skip
        if size > MAX_SNAPSHOT_BYTES:
            raise ModelError(
                f"{where}: {size} bytes as an incident keeps it, over {MAX_SNAPSHOT_BYTES}"
            )
    return checked


def _check_steps(spec: ModelSpec, where: str) -> None:
    ids: dict[str, int] = {}
    for index, step in enumerate(spec.steps):
        key = f"{where}.steps.{index}"
        if step.id in ids:
            raise ModelError(f"{key}.id: step '{step.id}' appears twice")
        ids[step.id] = index
        for duration_key in ("due", "overdue_after"):
            value = getattr(step, duration_key)
            if value is not None:
                try:
                    parse_duration(value, TWENTY_FOUR_SEVEN)
                except ValueError as problem:
                    raise ModelError(f"{key}.{duration_key}: {problem}") from None
        for template_key, text in _templates(step):
            unknown = placeholders_in(text) - PLACEHOLDERS - set(_vars(step))
            if unknown:
                raise ModelError(
                    f"{key}.{template_key}: unknown placeholder "
                    + ", ".join(f"{{{name}}}" for name in sorted(unknown))
                    + f" (known: {', '.join(sorted(PLACEHOLDERS))})"
                )
    for index, step in enumerate(spec.steps):
        for dependency in step.after:
            if dependency not in ids:
                raise ModelError(f"{where}.steps.{index}.after: unknown step '{dependency}'")
    cycle = _cycle({step.id: step.after for step in spec.steps})
    if cycle:
        index = ids[cycle[0]]
        raise ModelError(f"{where}.steps.{index}.after: a cycle: {' -> '.join([*cycle, cycle[0]])}")


def _vars(step: StepSpec) -> dict[str, str]:
    return step.comment.vars if step.comment else {}


def _templates(step: StepSpec) -> Iterable[tuple[str, str]]:
    if step.http is not None:
        yield "http.url", step.http.url
        yield from _strings(step.http.body or {}, "http.body")
    if step.notify is not None:
        yield "notify.template", step.notify.template
    if step.vendor_ticket is not None:
        yield "vendor_ticket.summary", step.vendor_ticket.summary
    if step.declare_major is not None:
        yield "declare_major.reason", step.declare_major.reason
    if step.comment is not None and step.comment.template is None:
        yield "comment.text", step.comment.text


def _strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}.{index}")


def _cycle(after: Mapping[str, Iterable[str]]) -> list[str]:
    """A dependency cycle as the ids along it, or [] (depth-first, in the steps' order)."""
    colour: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        colour[node] = 1
        path.append(node)
        for nxt in after.get(node, ()):
            if colour.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in colour and (found := visit(nxt)):
                return found
        path.pop()
        colour[node] = 2
        return []

    for node in after:
        if node not in colour and (found := visit(node)):
            return found
    return []


def _with_reply_texts(spec: ModelSpec, where: str, replies: Mapping[str, str]) -> ModelSpec:
    """A `comment` step keeps the text of its reply template: the incident keeps the text it
    started with, as it keeps the steps."""
    steps = []
    for index, step in enumerate(spec.steps):
        if step.comment is not None and step.comment.template is not None:
            text = replies.get(step.comment.template)
            if text is None:
                raise ModelError(
                    f"{where}.steps.{index}.comment.template: no reply template "
                    f"'{step.comment.template}' ({', '.join(sorted(replies)) or 'none'})"
                )
            unknown = placeholders_in(text) - PLACEHOLDERS - set(step.comment.vars)
            if unknown:
                raise ModelError(
                    f"{where}.steps.{index}.comment.vars: the reply template "
                    f"'{step.comment.template}' needs " + ", ".join(sorted(unknown))
                )
            comment = step.comment.model_copy(update={"text": text[:4000]})
            step = step.model_copy(update={"comment": comment})
        steps.append(step)
    return spec.model_copy(update={"steps": steps})


# --- filling templates --------------------------------------------------------------------


def placeholders_in(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"(a lone '{' or '}': write '{{' or '}}')"}


def fill(text: str, values: Mapping[str, str]) -> str:
    """A template with the incident's values; a placeholder without one stays as written."""
    try:
        return string.Formatter().vformat(text, (), _Lenient(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return text


def fill_json(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, dict):
        return {key: fill_json(inner, values) for key, inner in value.items()}
    if isinstance(value, list):
        return [fill_json(inner, values) for inner in value]
    return value


class _Lenient(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _choices() -> str:
    return ", ".join(activity.value for activity in StepActivity)
