"""Workflow code must replay identically: no clock, randomness, I/O or network in
workflows/ and the pure rules in domain/.

The worker passes `workflows/` and `domain/` through Temporal's sandbox for speed, so the
sandbox no longer catches such a call at run time; this test does, before it ships."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent.parent
WORKFLOWS = sorted([*(PROJECT / "workflows").glob("*.py"), *(PROJECT / "domain").glob("*.py")])
FORBIDDEN_CALLS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "monotonic"), ("time", "sleep"), ("time", "perf_counter"),
    ("uuid", "uuid4"), ("uuid", "uuid1"), ("os", "getenv"), ("os", "urandom"),
    ("asyncio", "sleep"), ("secrets", "token_hex"), ("secrets", "token_urlsafe"),
}  # fmt: skip
FORBIDDEN_NAMES = {"open", "input", "print"}
FORBIDDEN_IMPORTS = {
    "random",
    "requests",
    "httpx",
    "socket",
    "subprocess",
    "sqlalchemy",
    "threading",
}


def offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in FORBIDDEN_CALLS:
                    found.append(f"{path.name}:{node.lineno} {func.value.id}.{func.attr}()")
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"{path.name}:{node.lineno} {func.id}()")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            found += [
                f"{path.name}:{node.lineno} import {n}"
                for n in names
                if n.split(".")[0] in FORBIDDEN_IMPORTS
            ]
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=[path.name for path in WORKFLOWS])
def test_workflow_code_reads_no_clock_randomness_or_io(path: Path) -> None:
    assert offences(path) == []


def test_the_check_catches_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import random\nfrom datetime import datetime\nx = datetime.now()\nopen('f')\n")
    assert len(offences(bad)) == 3
