"""The one place that reads the environment: every setting has the prefix INCIDENTFLOW_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.policy import Policy, PolicyError, parse_policy

PROJECT_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY_FILE = PROJECT_DIR / "policy" / "default.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INCIDENTFLOW_", extra="ignore")

    data_dir: Path = PROJECT_DIR / ".data"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    temporal_profile: str | None = None  # a temporalio.envconfig profile, e.g. for Temporal Cloud
    temporal_config_file: Path | None = None  # its TOML file (default: the SDK's usual places)
    task_queue: str = "incidents"
    database_url: str = ""
    # Start-up upgrades the record store's schema; off, it refuses to start on an old one and
    # names the command to run (`python -m recordstore.migrate`).
    db_auto_migrate: bool = True
    policy_file: Path = DEFAULT_POLICY_FILE
    tokens_file: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Prometheus scrapes the worker's SDK and business metrics here (0.0.0.0 in a container)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'incidentflow.db'}"

    @property
    def resolved_tokens_file(self) -> Path:
        return self.tokens_file or self.data_dir / "tokens.toml"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def load_policy(settings: Settings) -> Policy:
    """Read and validate the policy file; PolicyError names the file and every bad key."""
    path = settings.policy_file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read the policy file: {error.strerror}") from None
    return parse_policy(text, source=str(path))
