"""Known errors and problem records: the KEDB's models, shared by the workflow, the activities,
the record store and the API. Pure pydantic, so workflow code may import them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints

from domain.models import IncidentNumber, ResolutionCode, Strict


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here keeps a bad body a 422, never a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def _replace_nul(value: object) -> object:
    # Models the workflow builds from incident text must never fail to validate (a failed
    # workflow task leaves the incident stuck): NUL becomes U+FFFD instead of an error.
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


NoNul = AfterValidator(_no_nul)
NulSafe = BeforeValidator(_replace_nul)
Title = Annotated[str, _text(1, 200), NoNul]
Symptoms = Annotated[str, _text(1, 32_000), NoNul]
Notes = Annotated[str, _text(1, 8_000), NoNul]
Label = Annotated[str, _text(1, 128), NoNul]
ProblemRef = Annotated[str, _text(1, 64), NoNul]
QueryText = Annotated[str, StringConstraints(max_length=32_000), NulSafe]
SafeLabel = Annotated[str, _text(1, 128), NulSafe]

KnownErrorStatus = Literal["draft", "published", "retired"]
KNOWN_ERROR_ID = r"^KE\d{7}$"
PROBLEM_ID = r"^PRB\d{7}$"


class KnownErrorFields(Strict):
    title: Title
    symptoms: Symptoms = Field(description="what callers report; searched after the title")
    category: Label | None = None
    service: Label | None = None
    workaround: Notes | None = None
    root_cause: Notes | None = None
    problem_ref: ProblemRef | None = Field(default=None, description="e.g. PRB0000012")
    status: KnownErrorStatus = Field(
        default="published", description="only published known errors are suggested"
    )


class KnownErrorCreate(KnownErrorFields):
    """POST and PUT body: PUT replaces every field, so a field left out returns to its default."""


class KnownErrorOverrides(Strict):
    """The body of `POST /known-errors?from_incident=...`: every field optional; a field given
    here replaces what the incident record would have supplied."""

    title: Title | None = None
    symptoms: Symptoms | None = None
    category: Label | None = None
    service: Label | None = None
    workaround: Notes | None = None
    root_cause: Notes | None = None
    problem_ref: ProblemRef | None = None
    status: KnownErrorStatus | None = None


class KnownError(KnownErrorFields):
    id: str = Field(pattern=KNOWN_ERROR_ID, examples=["KE0000001"])
    created_at: datetime
    updated_at: datetime
    source_incident: str | None = Field(default=None, description="the incident it was made from")


class KnownErrorsPage(BaseModel):
    items: list[KnownError]
    next_cursor: str | None = None


class KnownErrorQuery(Strict):
    """A lookup: free text (an incident's descriptions, or what a user typed). Category and
    service rank matching known errors higher; they never filter."""

    text: QueryText
    category: SafeLabel | None = None
    service: SafeLabel | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 3


ProblemReason = Literal["workaround", "no_root_cause"]


class ProblemProposal(Strict):
    """Sent by the incident workflow when it resolves with a workaround or no root cause."""

    number: IncidentNumber
    short_description: Annotated[str, _text(1, 160), NulSafe]
    category: SafeLabel | None = None
    service: SafeLabel | None = None
    resolution_code: ResolutionCode
    resolution_notes: Annotated[str, _text(1, 4_000), NulSafe]
    reason: ProblemReason


class Problem(BaseModel):
    id: str = Field(pattern=PROBLEM_ID, examples=["PRB0000001"])
    number: str = Field(description="the incident that proposed it")
    title: str
    reason: ProblemReason
    status: Literal["proposed"] = "proposed"
    category: str | None = None
    service: str | None = None
    resolution_code: ResolutionCode
    resolution_notes: str
    created_at: datetime


class ProblemsPage(BaseModel):
    items: list[Problem]
    next_cursor: str | None = None
