# Petri: `make up` runs it embedded on this machine; `make test` runs the whole test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: install frontend up test lint format clean

# uv installs the pinned requirements (same versions, same venv) in half a minute where pip
# takes one or more: it downloads in parallel and links from its cache. Bytecode is compiled
# now, as pip does: sandboxed jobs may not write it, and would compile their imports each run.
UV_VERSION := 0.13.9
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) -r requirements.txt
	$(UV) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The web app (webapp/frontend, TypeScript + Vite): rebuilt only when its sources changed.
FRONTEND := webapp/frontend
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src -type f 2>/dev/null) \
	$(addprefix $(FRONTEND)/,index.html package.json package-lock.json vite.config.ts tsconfig.json)

$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund

$(FRONTEND)/dist/index.html: $(FRONTEND)/node_modules/.package-lock.json $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run build

frontend: $(FRONTEND)/dist/index.html

up: install frontend
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py sync_algorithms
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

# The web app's pure logic (sweeps, live merge, CSV) under node's own test runner, then the whole
# pytest suite in parallel (pytest-xdist): tests mostly wait on servers, runner subprocesses and
# browsers, so more workers than cores pay off. One tier or file: docs/testing.md.
PYTEST_WORKERS ?= 4
test: install frontend
	cd $(FRONTEND) && npm test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf "$${TMPDIR:-/tmp}"/petri-test-*.sqlite3* var/runner-logs
