# The front door. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
# psycopg must not block eventlet's hub (stack-notes, pitfall 1); chassis checks it again at runtime.
export PSYCOPG_WAIT_FUNC := wait_select

COMPONENTS := libs/chassis services/points services/members services/rewards services/campaigns services/notifier services/gateway
# `nameko test` (via chassis.run: JSON logs, known warnings silenced) applies eventlet's monkey patch.
SERVICE_TEST := $(BIN)/python -m chassis.run test --amqp-uri $(AMQP_URI) -q
B ?=

.PHONY: help install infra infra-test migrate run test test-unit test-service test-e2e bench lint fmt freeze clean

help:
	@echo "make run     install, migrate, start every service and the gateway, load a demo shop"
	@echo "make test    unit, service (real PostgreSQL + RabbitMQ) and end-to-end tests"
	@echo "make bench   throughput and latency figures into bench/results/latest.json (B=<name> for one)"
	@echo "make migrate | lint | fmt | test-unit | test-service | test-e2e"

$(VENV)/.installed: $(addsuffix /pyproject.toml,$(COMPONENTS)) requirements/constraints.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check "pip==24.3.1" "setuptools==81.0.0"
	$(BIN)/pip install -q --disable-pip-version-check -c requirements/constraints.txt \
		-r requirements/dev.txt $(addprefix -e ,$(COMPONENTS))
	touch $@

install: $(VENV)/.installed

infra:
	deploy/local/infra.sh

infra-test:
	deploy/local/infra.sh --management

migrate: install infra
	$(BIN)/python deploy/local/stack.py migrate

run: install infra
	$(BIN)/python deploy/local/stack.py run

test: install infra-test
	$(MAKE) --no-print-directory test-unit test-service test-e2e

test-unit: install
	@set -e; for c in $(COMPONENTS); do \
		if [ -d $$c/tests/unit ]; then echo "== unit: $$c"; (cd $$c && $(BIN)/python -m pytest -q --suppress-nameko-eventlet-notification tests/unit); fi; \
	done

test-service: install infra-test
	@set -e; for c in $(COMPONENTS); do \
		if [ -d $$c/tests/integration ]; then echo "== service: $$c"; (cd $$c && $(SERVICE_TEST) tests/integration); fi; \
	done

test-e2e: install infra-test
	$(BIN)/python -m pytest -q tests

bench: install infra
	$(BIN)/python bench/run.py $(B)

lint: install
	$(BIN)/ruff check libs services tests bench deploy

fmt: install
	$(BIN)/ruff format libs services tests bench deploy

freeze: install
	(echo "# Every package of the environment, pinned (pip install -c). Regenerate with 'make freeze'."; \
	 $(BIN)/pip freeze --exclude-editable | grep -v '^loyalty-') > requirements/constraints.txt

clean:
	rm -rf $(VENV) .run bench/results
