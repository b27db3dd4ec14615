"""Integration keys: the `[[integration]]` tables of the tokens file. A monitoring tool speaking
PagerDuty's Events API v2 authenticates with one as its `routing_key`:

    [[integration]]
    name = "uptime-kuma"            # the caller of the incidents it opens
    key = "0123456789abcdef0123456789abcdef"
    service = "website"             # optional: the incidents' service,
    group = "web-l1"                # assignment group
    category = "availability"       # category
    subcategory = "outage"          # and subcategory (an incident model may match them)
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from domain.pagerduty import Integration


class IntegrationKey(Integration):
    name: str = Field(min_length=1, max_length=100)
    key: str = Field(min_length=16, max_length=200, repr=False)
    service: str | None = Field(default=None, min_length=1, max_length=128)
    group: str | None = Field(default=None, min_length=1, max_length=128)
    category: str | None = Field(default=None, min_length=1, max_length=128)
    subcategory: str | None = Field(default=None, min_length=1, max_length=128)


def parse(path: Path, raw: dict[str, Any]) -> list[IntegrationKey]:
    """The integrations of a parsed tokens file; ValueError names the file and the problem."""
    found: list[IntegrationKey] = []
    for index, entry in enumerate(raw.get("integration", [])):
        try:
            found.append(IntegrationKey.model_validate(entry))
        except ValidationError as error:
            problems = "; ".join(  # without the input values: a key is a secret
                f"{'.'.join(str(part) for part in issue['loc']) or 'entry'}: {issue['msg']}"
                for issue in error.errors(include_input=False, include_url=False)
            )
            raise ValueError(f"{path}: integration {index + 1}: {problems}") from None
    names = [integration.key for integration in found]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: two integrations share a key")
    return found


def find(integrations: list[IntegrationKey], key: str) -> IntegrationKey | None:
    """Compared with every key, in constant time each, so timing tells nothing."""
    found = None
    for integration in integrations:
        if hmac.compare_digest(integration.key.encode(), key.encode()):
            found = integration
    return found
