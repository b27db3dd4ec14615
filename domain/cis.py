"""The configuration-item catalogue (contract 15): what an incident's `ci` may name.

A TOML file of `[[ci]]` entries, or a CSV file with the same columns (chosen by the file's
extension), read and checked whole at start-up by `core.settings.load_cis`; a bad entry stops
the start with a message naming the file and the entry. Pure: the text comes in, the
catalogue goes out.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from domain.messages import summary

CiId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[\w.:@/-]+$"),
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
COLUMNS = ("id", "name", "class", "service", "owner_group", "location")


class CisError(ValueError):
    """The catalogue is unusable; the message names the file and the entry."""


class ConfigurationItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: CiId
    name: Label
    ci_class: Label = Field(alias="class", description="server, application, network device...")
    service: Label | None = None
    owner_group: Label | None = None
    location: Label | None = None


class Catalogue(BaseModel):
    """The configuration items by id, in file order."""

    items: dict[str, ConfigurationItem] = {}

    def get(self, ci_id: str) -> ConfigurationItem | None:
        return self.items.get(ci_id)

    def matching(
        self, service: str | None = None, ci_class: str | None = None, q: str | None = None
    ) -> list[ConfigurationItem]:
        """Exact service and class; `q`: a case-insensitive part of the id, name or location."""
        needle = q.casefold() if q else None
        return [
            item
            for item in self.items.values()
            if (service is None or item.service == service)
            and (ci_class is None or item.ci_class == ci_class)
            and (
                needle is None
                or any(
                    needle in (text or "").casefold()
                    for text in (item.id, item.name, item.location)
                )
            )
        ]


def parse_cis(text: str, source: str) -> Catalogue:
    """A `.csv` source is CSV with the header `COLUMNS`; anything else is TOML `[[ci]]`."""
    if source.lower().endswith(".csv"):
        return _catalogue(_csv_entries(text, source), source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise CisError(f"{source}: not valid TOML: {problem}") from None
    unknown = set(raw) - {"ci"}
    if unknown:
        raise CisError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} (only [[ci]])")
    entries = raw.get("ci", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CisError(f"{source}: `ci` must be an array of tables ([[ci]] entries)")
    return _catalogue([(f"ci[{index}]", entry) for index, entry in enumerate(entries)], source)


def _csv_entries(text: str, source: str) -> list[tuple[str, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown or "id" not in header:
        raise CisError(
            f"{source}: header must name the columns {', '.join(COLUMNS)} "
            f"(id, name and class required); unknown: {', '.join(unknown) or 'none'}"
        )
    entries = []
    for row in reader:
        if None in row:
            raise CisError(f"{source}: line {reader.line_num}: more values than columns")
        values = {key.strip(): value for key, value in row.items() if value not in (None, "")}
        entries.append((f"line {reader.line_num}", values))
    return entries


def _catalogue(entries: Sequence[tuple[str, Mapping[str, object]]], source: str) -> Catalogue:
    items: dict[str, ConfigurationItem] = {}
    for where, entry in entries:
        named = f"{where} (id '{entry['id']}')" if isinstance(entry.get("id"), str) else where
        try:
            item = ConfigurationItem.model_validate(entry)
        except ValidationError as problem:
            raise CisError(f"{source}: {named}: {summary(problem, '(entry)')}") from None
        if item.id in items:
            raise CisError(f"{source}: {named}: the id is already used by an earlier entry")
        items[item.id] = item
    return Catalogue(items=items)
