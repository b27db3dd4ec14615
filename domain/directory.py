"""The directory: the people of the service desk and their groups (contract section 11).

Read once at start-up from `INCIDENTFLOW_DIRECTORY_FILE` (TOML) and checked whole: every
member, lead and escalation target must exist, and an error names the file and the key.
Tokens stay in the tokens file and name a person of this file. Pure: the API authorises with
it, the worker addresses notifications with it, and an incident's copy of the policy carries
the group ladders it needs, so a person who leaves later changes nothing already recorded.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from domain.messages import parse_toml

ROLES = ("requester", "agent", "manager", "automation", "admin")
SUPPORT_LEVELS = ("L1", "L2", "L3")
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._@-]{0,63}$")
]


class DirectoryError(ValueError):
    """The directory file is unreadable or inconsistent; the message names file and key."""


class DirectoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(DirectoryModel):
    display_name: str = ""
    email: EmailStr | None = None
    roles: tuple[str, ...] = ("requester",)
    groups: tuple[Name, ...] = ()


class Group(DirectoryModel):
    display_name: str = ""
    members: tuple[Name, ...] = ()
    lead: Name | None = None
    email: EmailStr | None = None
    channel: str | None = Field(
        default=None, description="a notification channel of the policy (chat webhook)"
    )
    levels: dict[str, Name] = Field(
        default={},
        description="this group's own ladder: support level -> the group that works it",
    )


class Directory(DirectoryModel):
    people: dict[Name, Person] = {}
    groups: dict[Name, Group] = {}

    def members_of(self, group: str) -> frozenset[str]:
        """Members named by the group and people naming the group: either side may say it."""
        found = self.groups.get(group)
        listed = set(found.members) if found else set()
        return frozenset(listed | {n for n, p in self.people.items() if group in p.groups})

    def groups_of(self, person: str) -> frozenset[str]:
        return frozenset(name for name in self.groups if person in self.members_of(name))

    def is_member(self, person: str, group: str) -> bool:
        return person in self.members_of(group)

    def ladder(self, group: str) -> dict[str, str]:
        found = self.groups.get(group)
        return dict(found.levels) if found else {}

    def email_of(self, name: str) -> str | None:
        """A person's or a group's address, or None when the directory does not know it."""
        if name in self.people:
            return self.people[name].email
        if name in self.groups:
            group = self.groups[name]
            return group.email or (self.email_of(group.lead) if group.lead else None)
        return None

    def display_name(self, name: str) -> str:
        person = self.people.get(name)
        return (person.display_name or name) if person else name


def parse_directory(text: str, source: str = "directory") -> Directory:
    directory = parse_toml(text, source, Directory, DirectoryError)
    inconsistent = _cross_references(directory)
    if inconsistent:
        raise DirectoryError(f"{source}: " + "; ".join(inconsistent))
    return directory


def _cross_references(directory: Directory) -> list[str]:
    problems = []
    people, groups = directory.people, directory.groups
    for name, person in people.items():
        for role in person.roles:
            if role not in ROLES:
                problems.append(f"people.{name}.roles: unknown role '{role}' ({', '.join(ROLES)})")
        for group in person.groups:
            if group not in groups:
                problems.append(f"people.{name}.groups: unknown group '{group}'")
    for name, team in groups.items():
        for member in team.members:
            if member not in people:
                problems.append(f"groups.{name}.members: unknown person '{member}'")
        if team.lead is not None and team.lead not in people:
            problems.append(f"groups.{name}.lead: unknown person '{team.lead}'")
        for level, target in team.levels.items():
            if level not in SUPPORT_LEVELS:
                problems.append(f"groups.{name}.levels: unknown level '{level}' (L1, L2, L3)")
            if target not in groups:
                problems.append(f"groups.{name}.levels.{level}: unknown group '{target}'")
    return problems
