"""The one place that reads the environment: every setting has the prefix INCIDENTFLOW_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.cis import Catalogue, CisError, parse_cis
from domain.directory import Directory, DirectoryError, parse_directory
from domain.incident_models import Catalogue as ModelCatalogue
from domain.incident_models import load_catalogue
from domain.policy import Policy, PolicyError, parse_policy
from domain.replies import ReplyTemplate, load_templates

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_POLICY_FILE = PROJECT_DIR / "policy" / "default.toml"
DEFAULT_MODELS_DIR = PROJECT_DIR / "models"
DEFAULT_REPLY_TEMPLATES_DIR = PROJECT_DIR / "templates" / "replies"


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
    # Incident models and playbooks (contract 14): every *.toml here, with the policy's own
    # [models.NAME] tables (None in code: the policy's only).
    models_dir: Path | None = DEFAULT_MODELS_DIR
    tokens_file: Path | None = None
    # Reply templates (contract 14): one Markdown file each, front matter and text; the shipped
    # ones by default. Checked at start-up: a bad file stops the API with its name.
    reply_templates_dir: Path = DEFAULT_REPLY_TEMPLATES_DIR
    # The people and groups (contract 11). Unset: `.data/directory.toml` when it exists (make
    # run writes one), else no directory (groups are free text, as before section 11).
    directory_file: Path | None = None
    # The configuration-item catalogue (contract 15), TOML `[[ci]]` or CSV (by extension).
    # Unset: `.data/cis.toml` when it exists (make run writes one), else an empty catalogue.
    cis_file: Path | None = None
    # OpenID Connect bearer tokens (contract 11), beside the tokens file; off unless all three
    # of issuer, audience and JWKS URL are set.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_algorithms: list[str] = ["RS256", "ES256"]
    oidc_name_claim: str = "preferred_username"
    oidc_roles_claim: str = "roles"  # a dotted path: Keycloak's is realm_access.roles
    oidc_roles_from: Literal["claims", "directory"] = "claims"
    # A dotted path to the person's groups in the token (Keycloak: `groups`); unset, the
    # directory gives them.
    oidc_groups_claim: str | None = None
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Prometheus scrapes the worker's SDK and business metrics here (0.0.0.0 in a container)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=1, le=65535)
    # Request bodies above this are a 413, answered before they are read whole or any token is
    # checked; field limits inside (a description, alert details) answer 422 well below it.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # E-mail (contract 13): the inbound SMTP listener (`python -m mailin`), or an IMAP mailbox
    # it polls instead when `imap_host` is set; the address replies go to (Reply-To), which
    # overrides the policy's [email].service_desk_address.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    service_desk_address: str | None = None
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_ssl: bool = True
    imap_user: str | None = None
    imap_password: str | None = None
    imap_folder: str = "INBOX"
    imap_poll_seconds: float = Field(default=30.0, gt=0)
    # Attachment files, content-addressed; default `<data_dir>/attachments`.
    attachments_dir: Path | None = None
    # The web console's session key (cookies are encrypted and signed with it); unset, one is
    # generated once as `<data_dir>/console-secret`. Several API replicas must share one.
    console_secret: SecretStr | None = None
    # Where `npm ci` put the console's front-end libraries (console/assets/package.json);
    # default `console/assets/node_modules` beside the code.
    console_assets_dir: Path | None = None
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'incidentflow.db'}"

    @property
    def resolved_tokens_file(self) -> Path:
        return self.tokens_file or self.data_dir / "tokens.toml"

    @property
    def resolved_attachments_dir(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url)

    @property
    def resolved_cis_file(self) -> Path | None:
        default = self.data_dir / "cis.toml"
        return self.cis_file or (default if default.exists() else None)

    @property
    def resolved_directory_file(self) -> Path | None:
        if self.directory_file is not None:
            return self.directory_file
        default = self.data_dir / "directory.toml"
        return default if default.exists() else None


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


def load_models(settings: Settings, policy: Policy) -> ModelCatalogue:
    """Every incident model, checked whole; ModelError names the file and the key."""
    return load_catalogue(
        policy.models,
        str(settings.policy_file),
        settings.models_dir,
        {name: template.body for name, template in load_reply_templates(settings).items()},
    )


def load_directory(settings: Settings, policy: Policy) -> Directory:
    """Read and check the directory file, and that the policy's contacts and groups are in it;
    DirectoryError names the file and the key. No file configured: an empty directory."""
    path = settings.resolved_directory_file
    if path is None:
        return Directory()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DirectoryError(f"{path}: cannot read the directory file: {error.strerror}") from None
    directory = parse_directory(text, source=str(path))
    known = directory.people.keys() | directory.groups.keys()
    contacts = policy.contacts
    named = {
        "contacts.incident_manager": [contacts.incident_manager],
        "contacts.problem_manager": [contacts.problem_manager],
        "contacts.stakeholders": list(contacts.stakeholders),
        "routing.rules": [rule.group for rule in policy.routing.rules],
        "routing.levels": list(policy.routing.levels.values()),
    }
    for key, names in named.items():
        for name in names:
            if name not in known:
                raise DirectoryError(
                    f"{settings.policy_file}: {key}: '{name}' is neither a person nor a group "
                    f"of the directory {path}"
                )
    return directory


def load_cis(settings: Settings, directory: Directory) -> Catalogue:
    """Read and check the CI catalogue; CisError names the file and the entry. An owner group
    must be a group of the directory, when there is one. No file configured: empty."""
    path = settings.resolved_cis_file
    if path is None:
        return Catalogue()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CisError(f"{path}: cannot read the CI catalogue: {error.strerror}") from None
    catalogue = parse_cis(text, source=str(path))
    for item in catalogue.items.values():
        if directory.groups and item.owner_group and item.owner_group not in directory.groups:
            raise CisError(
                f"{path}: ci '{item.id}': owner_group: '{item.owner_group}' is not a group of "
                f"the directory"
            )
    return catalogue


def load_reply_templates(settings: Settings) -> dict[str, ReplyTemplate]:
    """The reply templates by name, each checked; ReplyTemplateError names the bad file."""
    return load_templates(settings.reply_templates_dir)
