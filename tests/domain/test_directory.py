"""The directory file: read whole, checked whole, errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import DEFAULT_MODELS_DIR, PROJECT_DIR, Settings, load_directory, load_policy
from devrun.stack import ensure_directory_file
from domain.directory import Directory, DirectoryError, parse_directory
from tests.support.playbooks import load_dir

EXAMPLE = (PROJECT_DIR / "deploy" / "directory.example.toml").read_text()


def test_the_example_directory_reads_and_answers_membership() -> None:
    directory = parse_directory(EXAMPLE, "example")
    assert directory.members_of("service-desk") == {"sam", "morgan"}
    assert directory.is_member("dana", "network-l2")
    assert not directory.is_member("sam", "network-l1")
    assert directory.groups_of("lee") == {
        "platform-l2", "platform-l3", "dba-l1", "identity-admins", "messaging", "storage-ops",
        "app-support",
    }  # fmt: skip
    assert directory.ladder("network-l1") == {"L2": "network-l2", "L3": "platform-l3"}
    assert directory.email_of("sam") == "sam@example.com"
    assert directory.email_of("incident-manager") == "incident-managers@example.com"
    assert directory.email_of("network-l2") == "dana@example.com"  # no group address: its lead
    assert directory.display_name("alice") == "Alice Martin"
    assert directory.display_name("someone-who-left") == "someone-who-left"


def test_the_example_directory_has_every_owner_group_of_the_shipped_models() -> None:
    """`make run` loads the shipped models with this directory: each step's owner group is
    there, with members and a lead to hear of overdue steps; sam (the dev stack's agent) works
    the models' own groups (the network and platform groups stay the specialists')."""
    directory = parse_directory(EXAMPLE, "example")
    models = load_dir(DEFAULT_MODELS_DIR)
    owners = {
        step.owner_group
        for name in models.models
        for step in models.snapshot(name, {}).steps
        if step.owner_group is not None
    }
    playbook_groups = {
        "security-ops", "identity-admins", "messaging", "storage-ops", "desktop-support",
        "app-support", "facilities",
    }  # fmt: skip
    assert playbook_groups <= owners
    for group in sorted(owners):
        assert group in directory.groups, group
        assert directory.groups[group].lead is not None, group
        assert directory.members_of(group), group
    for group in sorted(playbook_groups):
        assert directory.is_member("sam", group), group


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[groups.g]\nmembers = ["ghost"]', "groups.g.members: unknown person 'ghost'"),
        ('[people.p]\n[groups.g]\nlead = "nobody"', "groups.g.lead: unknown person 'nobody'"),
        ('[people.p]\ngroups = ["nowhere"]', "people.p.groups: unknown group 'nowhere'"),
        ('[people.p]\nroles = ["wizard"]', "people.p.roles: unknown role 'wizard'"),
        ('[groups.g]\nlevels = { L2 = "missing" }', "groups.g.levels.L2: unknown group 'missing'"),
        ('[groups.g]\nlevels = { L9 = "g" }', "groups.g.levels: unknown level 'L9'"),
        ('[people.p]\nemail = "not-an-address"', "people.p.email"),
        ('[people.p]\nphone = "123"', "people.p.phone: Extra inputs are not permitted"),
        ('[people."Bad Name"]', "people.Bad Name.[key]"),
        ("[people.p", "not valid TOML"),
    ],
)
def test_a_bad_directory_names_the_file_and_the_key(text: str, named: str) -> None:
    with pytest.raises(DirectoryError) as raised:
        parse_directory(text, "/etc/incidentflow/directory.toml")
    assert str(raised.value).startswith("/etc/incidentflow/directory.toml: ")
    assert named in str(raised.value)


def test_the_policy_contacts_and_groups_must_be_in_the_directory(tmp_path: Path) -> None:
    directory_file = tmp_path / "directory.toml"
    renamed = EXAMPLE.replace("[groups.problem-manager]", "[groups.problems]")
    directory_file.write_text(
        renamed.replace('"incident-manager", "problem-manager"]', '"problems"]')
    )
    settings = Settings(data_dir=tmp_path, directory_file=directory_file)
    with pytest.raises(DirectoryError) as raised:
        load_directory(settings, load_policy(settings))
    assert "contacts.problem_manager: 'problem-manager' is neither a person nor a group" in str(
        raised.value
    )
    directory_file.write_text(EXAMPLE)
    assert load_directory(settings, load_policy(settings)).people["sam"].roles == ("agent",)


def test_no_directory_configured_is_an_empty_one(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert load_directory(settings, load_policy(settings)) == Directory()
    missing = Settings(data_dir=tmp_path, directory_file=tmp_path / "nope.toml")
    with pytest.raises(DirectoryError, match="nope.toml: cannot read the directory file"):
        load_directory(missing, load_policy(missing))


def test_make_run_writes_a_dev_directory_once_and_keeps_edits(tmp_path: Path) -> None:
    path = tmp_path / "directory.toml"
    ensure_directory_file(path)
    assert parse_directory(path.read_text()).people.keys() >= {"alice", "sam", "morgan"}
    path.write_text(path.read_text() + '\n[people.newcomer]\nroles = ["agent"]\n')
    ensure_directory_file(path)
    assert "newcomer" in parse_directory(path.read_text()).people
