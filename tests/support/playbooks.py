"""Incident models for tests: written as TOML, as an operator would, and checked by the loader."""

from __future__ import annotations

import tomllib
from pathlib import Path

from core.settings import DEFAULT_REPLY_TEMPLATES_DIR
from domain.incident_models import Catalogue, ModelSnapshot, load_catalogue, parse_models
from domain.replies import load_templates

# The shipped reply templates' texts, by name, as `core.settings.load_models` hands them over.
REPLIES = {name: t.body for name, t in load_templates(DEFAULT_REPLY_TEMPLATES_DIR).items()}

TRIAGE = """
[models.triage]
title = "Triage"
match = { category = "triage" }
[[models.triage.steps]]
id = "triage"
title = "Triage the incident"
"""


def catalogue_of(text: str) -> Catalogue:
    """The models of a TOML text, checked as the loader checks a models file."""
    models = parse_models(tomllib.loads(text), "test-models.toml", REPLIES)
    return Catalogue(models, dict.fromkeys(models, "test-models.toml"))


def snapshot_of(text: str, name: str, leads: dict[str, str | None] | None = None) -> ModelSnapshot:
    return catalogue_of(text).snapshot(name, leads or {})


def load_dir(models_dir: Path) -> Catalogue:
    return load_catalogue({}, "policy.toml", models_dir, REPLIES)
