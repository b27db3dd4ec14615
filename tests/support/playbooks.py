"""Incident models for tests: written as TOML, as an operator would, and checked by the loader."""

from __future__ import annotations

from pathlib import Path

from core.settings import DEFAULT_REPLY_TEMPLATES_DIR as REPLIES_DIR
from domain.incident_models import Catalogue, ModelSnapshot, load_catalogue, parse_models

TRIAGE = """
[models.triage]
title = "Triage"
match = { category = "triage" }
[[models.triage.steps]]
id = "triage"
title = "Triage the incident"
"""


def catalogue_of(text: str, tmp: Path | None = None) -> Catalogue:
    """The models of a TOML text, checked as the loader checks a models file."""
    import tomllib

    models = parse_models(tomllib.loads(text), "test-models.toml", REPLIES_DIR)
    return Catalogue(models, dict.fromkeys(models, "test-models.toml"))


def snapshot_of(text: str, name: str, leads: dict[str, str | None] | None = None) -> ModelSnapshot:
    return catalogue_of(text).snapshot(name, leads or {})


def load_dir(models_dir: Path) -> Catalogue:
    return load_catalogue({}, "policy.toml", models_dir, REPLIES_DIR)
