"""What an operator relies on in docker-compose.yml and the Dockerfile, and what `make run`
relies on in devrun (without starting any server)."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from core.settings import PROJECT_DIR, Settings, load_cis, load_directory, load_policy
from devrun import stack as devrun
from domain.search_attributes import ALL_KEYS, cli_flags, cli_type_name

ROLES = {"requester", "agent", "manager", "automation", "admin"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    services: dict[str, Any] = compose["services"]
    return services


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whichever of the two compose forms it is written in."""
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def test_services_use_the_expected_images(services: dict[str, Any]) -> None:
    images = {name: service.get("image", "").split(":")[0] for name, service in services.items()}
    assert images["postgresql"] == "postgres"
    assert services["postgresql"]["image"] == "postgres:16"
    assert images["temporal"] == "temporalio/auto-setup"
    assert images["temporal-admin-tools"] == "temporalio/admin-tools"
    assert images["temporal-ui"] == "temporalio/ui"
    assert services["records-db"]["image"] == "postgres:16"
    for name in ("worker", "api"):
        assert services[name]["build"] == "."
    assert services["worker"]["command"] == ["python", "-m", "worker"]
    assert services["api"]["command"] == ["python", "-m", "api"]


def test_temporal_persists_to_its_postgresql(services: dict[str, Any]) -> None:
    env = environment(services["temporal"])
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert env["POSTGRES_USER"] == environment(services["postgresql"])["POSTGRES_USER"]


def test_worker_scales(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", ["worker", "api"])
def test_worker_and_api_reach_temporal_and_the_records_db(
    services: dict[str, Any], name: str
) -> None:
    env = environment(services[name])
    assert env["INCIDENTFLOW_TEMPORAL_ADDRESS"] == "temporal:7233"
    url = urlsplit(env["INCIDENTFLOW_DATABASE_URL"])
    records_db = environment(services["records-db"])
    assert url.scheme == "postgresql+asyncpg"
    assert url.hostname == "records-db"
    assert url.username == records_db["POSTGRES_USER"]
    assert url.path == f"/{records_db['POSTGRES_DB']}"


def test_api_serves_on_8000_with_mounted_tokens(services: dict[str, Any]) -> None:
    api = services["api"]
    env = environment(api)
    assert api["ports"] == ["8000:8000"]
    assert env["INCIDENTFLOW_API_HOST"] == "0.0.0.0"
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    [tokens] = [v for v in api["volumes"] if v["target"] == env["INCIDENTFLOW_TOKENS_FILE"]]
    assert tokens["source"] == "./deploy/tokens.toml"
    assert tokens["read_only"] is True
    example = tomllib.loads((PROJECT_DIR / "deploy" / "tokens.example.toml").read_text())
    assert {role for p in example["principal"] for role in p["roles"]} == ROLES


def test_temporal_ui_on_8233(services: dict[str, Any]) -> None:
    assert "8233:8080" in services["temporal-ui"]["ports"]
    assert environment(services["temporal-ui"])["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_admin_tools_register_every_search_attribute(services: dict[str, Any]) -> None:
    script = " ".join(services["temporal-admin-tools"]["command"])
    creates = re.findall(r"search-attribute create (.*)", script)
    registered = {}
    for create in creates:
        assert "--address temporal:7233" in create
        [(name, type_name)] = re.findall(r"--name (\w+) --type (\w+)", create)
        registered[name] = type_name
    assert registered == {key.name: cli_type_name(key) for key in ALL_KEYS}
    assert len(creates) == len(ALL_KEYS)
    assert services["temporal-admin-tools"]["restart"] == "on-failure"


def test_dependencies_wait_for_health(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, wait in service.get("depends_on", {}).items():
            condition = wait["condition"]
            assert condition in {"service_healthy", "service_completed_successfully"}, name
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} -> {dependency}"
    # The app starts only once Temporal serves, knows the search attributes, and the DB is up.
    app_dependencies = {"temporal", "temporal-admin-tools", "records-db"}
    for name in ("worker", "api"):
        assert set(services[name]["depends_on"]) == app_dependencies
    assert "healthcheck" in services["api"]


def test_databases_keep_data_in_named_volumes(services: dict[str, Any]) -> None:
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    for name in ("postgresql", "records-db"):
        [volume] = services[name]["volumes"]
        volume_name, target = volume.split(":")
        assert volume_name in compose["volumes"]
        assert target == "/var/lib/postgresql/data"


def test_image_runs_as_non_root() -> None:
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-slim" in dockerfile
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}


def test_dev_server_command_registers_search_attributes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, temporal_address="localhost:7299", temporal_ui_port=8299)
    command = devrun.dev_server_command(settings)
    assert command[1:3] == ["server", "start-dev"]
    assert command[command.index("--db-filename") + 1] == str(tmp_path / "temporal.db")
    assert command[command.index("--port") + 1] == "7299"
    assert command[command.index("--ui-port") + 1] == "8299"
    assert command[-len(cli_flags()) :] == cli_flags()
    assert cli_flags()[1::2] == [f"{key.name}={cli_type_name(key)}" for key in ALL_KEYS]


def test_dev_tokens_file_has_one_principal_per_role(tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.toml"
    principals = devrun.ensure_tokens_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text())["principal"] == principals
    assert [(p["name"], p["roles"]) for p in principals] == [
        ("alice", ["requester"]),
        ("sam", ["agent"]),
        ("morgan", ["manager"]),
        ("monitoring", ["automation"]),
        ("root", ["admin"]),
    ]
    tokens = [p["token"] for p in principals]
    assert len(set(tokens)) == len(tokens)
    assert all(len(token) >= 32 for token in tokens)
    # A second `make run` keeps the tokens already handed out.
    assert devrun.ensure_tokens_file(path) == principals


def _bind(service: dict[str, Any], target: str) -> dict[str, Any]:
    [volume] = [v for v in service.get("volumes", []) if v["target"] == target]
    assert volume["type"] == "bind" and volume["read_only"] is True
    assert volume["bind"]["create_host_path"] is False
    return volume


@pytest.mark.parametrize("name", ["worker", "api", "mailin"])
def test_every_service_reads_the_mounted_directory(services: dict[str, Any], name: str) -> None:
    target = environment(services[name])["INCIDENTFLOW_DIRECTORY_FILE"]
    assert _bind(services[name], target)["source"] == "./deploy/directory.toml"


def test_the_api_reads_the_mounted_ci_catalogue(services: dict[str, Any], tmp_path: Path) -> None:
    api = services["api"]
    target = environment(api)["INCIDENTFLOW_CIS_FILE"]
    assert _bind(api, target)["source"] == "./deploy/cis.toml"
    # The examples the header says to copy load together, as the API loads them.
    settings = Settings(
        data_dir=tmp_path,
        directory_file=PROJECT_DIR / "deploy" / "directory.example.toml",
        cis_file=PROJECT_DIR / "deploy" / "cis.example.toml",
    )
    directory = load_directory(settings, load_policy(settings))
    assert load_cis(settings, directory).get("office-internet") is not None
    header = (PROJECT_DIR / "docker-compose.yml").read_text().split("services:", 1)[0]
    for copied in ("directory", "cis"):
        assert f"cp deploy/{copied}.example.toml deploy/{copied}.toml" in header
