# The map of every command a developer needs. `make run` and `make test` work on a
# fresh machine: they create the virtual environment and install what they need.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: help run test lint types unit e2e bench bench-postgres bench-export check migrate clean validate \
	integration-postgres base-images image compose-test

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

# --- Environments: rebuilt only when a requirements file changes -----------------
$(VENV)/.runtime: requirements.txt requirements-nodeps.txt
	@test -x $(PY) || { python=$$(scripts/find-python) && echo "Creating $(VENV) with $$python" && $$python -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

var:
	@mkdir -p var

migrate: $(VENV)/.runtime var ## Apply database migrations
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0

# --- The two commands --------------------------------------------------------------
run: migrate ## Run the whole stack here: Redis, gunicorn :1337, a worker per queue, beat, the scheduler, Flower :5555
	@[ -n "$${REDIS_URL:-}" ] || scripts/ensure-redis
	scripts/run-stack

# The test sessions spend most of their time waiting (tasks run for seconds, the
# million-row deletes pause between batches, pages poll), so after the quick checks
# mypy, the PostgreSQL integration run and the main session run side by side. Only
# the main session writes as it goes (its recipe line is marked `+`); the other two
# print their whole output when they end.
test: lint validate services ## Everything: lint, types, container files, unit + integration (SQLite, PostgreSQL) + e2e tests
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target \
	  types integration-postgres unit-and-e2e

lint: $(VENV)/.dev ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.dev ## mypy with django-stubs
	$(BIN)/mypy

# What the tests need installed, set up one after the other before anything runs
# side by side (two apt-get runs at once would fight over dpkg's lock). A machine
# without PostgreSQL still runs the rest: integration-postgres says it skipped.
.PHONY: services
services: $(VENV)/.dev var
	scripts/ensure-redis
	scripts/ensure-chromium $(PY)
	scripts/ensure-postgres || true

# The main session on xdist workers, each with a stack of its own: whole modules at
# a time (a module's private stack starts once), in conftest.py's order (the long
# ones first). PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)

.PHONY: unit-and-e2e
unit-and-e2e: $(VENV)/.dev var
	scripts/ensure-redis
	scripts/ensure-chromium $(PY)
	+$(BIN)/pytest $(XDIST)

integration-postgres: $(VENV)/.dev var ## Integration tests again, on a private PostgreSQL server
	@if scripts/ensure-postgres; then $(BIN)/pytest tests/integration --postgres; \
	else echo "integration-postgres: skipped (no PostgreSQL server)"; fi

validate: $(VENV)/.dev ## Offline checks: compose.yaml against the Compose spec, hadolint
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml
	$(BIN)/hadolint --failure-threshold style Containerfile scripts/base-images/*.Containerfile

unit: $(VENV)/.dev ## Unit tests only (no services)
	$(BIN)/pytest tests/unit

e2e: $(VENV)/.dev var ## The Playwright suite only
	scripts/ensure-redis
	scripts/ensure-chromium $(PY)
	$(BIN)/pytest e2e

bench: $(VENV)/.dev var ## Benchmark the real stack, SQLite then PostgreSQL (~6 min): var/bench/results.md, .json, growth.png
	scripts/ensure-redis
	scripts/ensure-wrk
	scripts/ensure-chromium $(PY)
	@scripts/ensure-postgres || echo "bench: no PostgreSQL server; its pass is skipped (and says so)"
	$(PY) -m bench.run

bench-postgres: $(VENV)/.dev var ## Only the benchmark's PostgreSQL pass (~2 min), into the same files
	scripts/ensure-redis
	scripts/ensure-wrk
	scripts/ensure-postgres
	$(PY) -m bench.run --databases postgres

bench-export: $(VENV)/.dev var ## The streamed export of a million tasks against its floor (~10 min)
	scripts/ensure-redis
	$(PY) -m bench.export

# --- Containers (podman) ------------------------------------------------------------
IMAGE := localhost/task-dashboard:latest
# The podman settings this kind of machine needs; override with CONTAINERS_CONF=.
base-images image compose-test: export CONTAINERS_CONF ?= $(CURDIR)/scripts/containers.conf
# pip inside the build trusts what this machine trusts (here, a TLS-inspecting
# proxy's CA); a build-time mount, not part of the image.
HOST_CA := /etc/ssl/certs/ca-certificates.crt

base-images: ## Build the python/redis/postgres base images from Debian (no registry)
	scripts/build-base-images

image: base-images ## Build the app image with podman (as compose.yaml names it)
	podman build --format docker --pull=never \
	  $(if $(wildcard $(HOST_CA)),--volume $(HOST_CA):$(HOST_CA):ro) \
	  --file Containerfile --tag $(IMAGE) .

compose-test: $(VENV)/.dev var image ## Boot compose.yaml (podman-compose) on :1337/:5555, check it, tear down
	$(BIN)/pytest boot --timeout 900

format: $(VENV)/.dev ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
