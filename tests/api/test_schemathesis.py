"""schemathesis against the API's own OpenAPI, over real HTTP, as each role.

Every operation the running API documents is fuzzed with valid and invalid input: no answer may be
a 5xx, and every answer must be documented (status, content type, schema). Incident and known
error numbers the generator makes up are pointed at this test's own records or at numbers that
never exist, so no case touches another test's incidents (whose workers are gone).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.apistack import Stack

ROLES = ["alice", "sam", "morgan", "monitoring", "root"]
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}  # per operation and role
COMMON_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = {
    GenerationMode.POSITIVE: COMMON_CHECKS,
    GenerationMode.NEGATIVE: [*COMMON_CHECKS, negative_data_rejection],
}
# The token is the test's to choose; unknown query parameters are ignored, as in any HTTP API.
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"with-security-parameters": False, "allow-extra-parameters": False}}
)
NUMBERS = re.compile(r"^(INC|KE|PRB)(\d{7})$")
CASES_RUN: dict[str, int] = {}


@dataclass
class Targets:
    """Records of this test's own that made-up identifiers are pointed at."""

    incident: str
    known_error: str
    # Alert routers of this test's own: one of an earlier test's waits for its gone worker.
    receiver_suffix: str = field(default_factory=lambda: f"-{uuid.uuid4().hex[:8]}")

    def retarget(self, value: Any) -> Any:
        """An identifier that looks real becomes one of ours or one that never exists (the 99
        range: numbers are sequential from 1); anything else goes through untouched."""
        if not isinstance(value, str) or not (match := NUMBERS.match(value)):
            return value
        prefix, digits = match.groups()
        own = {"INC": self.incident, "KE": self.known_error}.get(prefix)
        if own and int(digits) % 2 == 0:
            return own
        return f"{prefix}99{digits[2:]}"

    def apply(self, case: Case) -> Case:
        for part in (case.path_parameters, case.query):
            if isinstance(part, dict):
                for name, value in part.items():
                    part[name] = self.retarget(value)
        if isinstance(case.body, dict) and "parent" in case.body:
            case.body["parent"] = self.retarget(case.body["parent"])
        if isinstance(case.body, dict) and isinstance(case.body.get("receiver", ""), str):
            if "alerts" in case.body:  # POST /integrations/alertmanager
                case.body["receiver"] = case.body.get("receiver", "") + self.receiver_suffix
        return case


@dataclass
class Run:
    base_url: str
    headers: dict[str, str]
    targets: Targets
    cases: int = 0
    failures: list[str] = field(default_factory=list)


def fuzz(schema: schemathesis.BaseSchema, run: Run) -> None:
    """Blocking: runs in a thread while the event loop serves the API and the worker."""
    session = requests.Session()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            run.failures.append(f"an operation schemathesis cannot read: {result.err()}")
            continue
        operation = result.ok()
        for mode, examples in EXAMPLES.items():
            strategy = operation.as_strategy(generation_mode=mode).map(run.targets.apply)

            @given(case=strategy)
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Case) -> None:
                run.cases += 1
                case.call_and_validate(
                    base_url=run.base_url,
                    session=session,
                    headers=run.headers,
                    checks=CHECKS[mode],  # noqa: B023 (called at once, inside the loop)
                )

            try:
                check()
            except Unsatisfiable:
                pass  # nothing to make invalid: the operation takes no input
            except (Exception, BaseExceptionGroup) as failure:  # report every operation
                run.failures.append(f"{operation.label} ({mode.value}): {failure}")


@pytest.fixture
async def targets(stack: Stack) -> Targets:
    incident = await stack.ok(
        "POST",
        "/incidents",
        "alice",
        status=201,
        json={"short_description": "Fuzzing target", "description": "made by schemathesis"},
    )
    known_error = await stack.ok(
        "POST",
        "/known-errors",
        "sam",
        status=201,
        json={"title": "Fuzzing target", "symptoms": "made by schemathesis"},
    )
    return Targets(incident=incident["number"], known_error=known_error["id"])


@pytest.mark.slow  # about 10 s a role on an idle machine
@pytest.mark.parametrize("who", ROLES)
async def test_every_operation_keeps_its_documented_contract(
    stack: Stack, targets: Targets, who: str
) -> None:
    spec = (await stack.http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(spec, config=CONFIG)
    run = Run(str(stack.http.base_url).rstrip("/"), stack.as_(who), targets)
    await asyncio.to_thread(fuzz, schema, run)
    CASES_RUN[who] = run.cases
    print(f"schemathesis as {who}: {run.cases} cases over {len(spec['paths'])} paths")
    assert not run.failures, "\n\n".join(run.failures)
    operations = sum(len(item) for item in spec["paths"].values())
    assert run.cases >= operations * len(EXAMPLES)
