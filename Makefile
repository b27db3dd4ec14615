# The interface to the project: `make run`, `make test`, `make lint`.
# Every target works from a fresh clone: it creates .venv first if needed (and installs the web
# console's front-end libraries from npm: console/assets/package-lock.json).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall when pyproject.toml changes; the stamp lives in the venv, so it goes with it.
STAMP := $(VENV)/.incidentflow-installed

.PHONY: venv run test test-fast lint bench migrate clean

venv: $(STAMP)

$(STAMP): pyproject.toml console/assets/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev]'
	cd console/assets && npm ci --no-audit --no-fund
	touch $@

# The Temporal dev server, the worker and the API; Ctrl-C stops them all.
run: venv
	$(BIN)/python -m devrun

test: venv
	$(BIN)/pytest -q

# The inner loop: every test but the long ones marked `slow` (which `make test` and CI run).
test-fast: venv
	$(BIN)/pytest -q -m "not slow"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy domain workflows api mailin console

# Its own dev server, worker and API on free ports: one table, and bench-results.json.
bench: venv
	$(BIN)/python -m bench

# The record store's schema to the latest revision (what start-up does by default).
migrate: venv
	$(BIN)/python -m recordstore.migrate

# Keeps .venv and .data (the dev Temporal history, records and tokens):
# `rm -rf .venv .data` starts over from scratch.
clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
