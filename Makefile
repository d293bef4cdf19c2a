# Two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export DEBUG ?= 1

.PHONY: install chromium run test test-fast lint bench migrate demo clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || PY=python3; test -x $(BIN)/python || $${PY:-python3} -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py demo_production --once

# Serves the portal with its workers on the embedded default: SQLite (WAL) and a broker that needs no server.
run: demo
	@echo "DEFT at http://$(HOST):$(PORT)/  users: prodmgr, susy-manager, top-manager, shifter; password: $${DEFT_DEMO_PASSWORD:-deft-demo}"
	@trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/celery -A deft worker -B -l warning --concurrency 2 & WORKER=$$!; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The browser tests need Debian's chromium: installed here when missing and running as root, else a clear failure.
chromium:
	@scripts/ensure-chromium

test: install chromium
	DEBUG=0 $(BIN)/pytest

test-fast: install
	DEBUG=0 $(BIN)/pytest -m "not browser and not worker"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports

bench: install
	SECRET_KEY=$${SECRET_KEY:-deft-bench-only-not-a-deployment} DEBUG=0 $(BIN)/python bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) var staticfiles
