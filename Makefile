# NetVigil. The two commands a new user needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NETVIGIL := $(BIN)/netvigil
STAMP := $(VENV)/.installed

.PHONY: help install demo demo-down test test-unit test-integration test-chaos lint format typecheck bench bench-scale stack-up stack-down clean

help:
	@echo "make demo       install what is missing, start services, simulated network, collectors, worker and app"
	@echo "make test       install what is missing and run the whole suite (unit + integration, real services)"
	@echo "make lint | format | typecheck | bench | bench-scale | demo-down | stack-up | stack-down"

$(STAMP): pyproject.toml scripts/system-deps.sh
	./scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

stack-up: install
	$(NETVIGIL) stack up
	$(NETVIGIL) db migrate

stack-down:
	-$(NETVIGIL) stack down

demo: install
	$(NETVIGIL) demo up

demo-down:
	-$(NETVIGIL) demo down

# The suite starts its own isolated stack (.local/test, other ports) and stops it at the end;
# the fault tests run in their own pytest process on their own private stack.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	NV_TEST_STOP_STACK=1 $(BIN)/pytest -q -p no:cacheprovider tests --ignore=tests/chaos
	$(BIN)/pytest -q -p no:cacheprovider tests/chaos

test-unit: install
	$(BIN)/pytest -q -m unit tests

test-integration: install
	$(BIN)/pytest -q -m integration tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

bench: install
	@mkdir -p bench/results
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

# Fault tests: kill -9 of a collector, the worker, PostgreSQL, Redis and Kafka on a private
# stack (.local/chaos, ports 24090-24099); a plain `pytest tests` deselects them.
test-chaos: install
	$(BIN)/pytest -q -p no:cacheprovider tests/chaos

# The reference load (14,800 devices) on a private stack (.local/scale, ports 24290-24299), ~10 min.
bench-scale: install
	$(BIN)/python bench/scale.py

clean: demo-down stack-down
	rm -rf $(VENV) .local bench/results test-artifacts
