# AI Warden developer entry points. `make demo` and `make test` do all the set-up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
SAM_CLI_VERSION := 1.170.0
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
# Lambda runs python3.13; `sam build` needs that interpreter on PATH (pyenv has it here). Only
# sam gets it: tests and the CLI run on the default python3 (3.11+).
PY313_BIN := $(shell d=$$(pyenv root 2>/dev/null) && ls -d $$d/versions/3.13*/bin 2>/dev/null | sort -V | tail -1)
export AIWARDEN_SAM_PATH := $(if $(PY313_BIN),$(PY313_BIN):,)$(PATH)
SAM := PATH="$(AIWARDEN_SAM_PATH)" $(CURDIR)/$(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0
export UV_COMPILE_BYTECODE := 1
export SAM_CLI := $(CURDIR)/$(SAM_VENV)/bin/sam

.PHONY: help install lock test lint format build validate demo docs fuzz bench pr clean

help:
	@echo "make demo   - run the demo on an embedded moto server (sets itself up)"
	@echo "make test   - run the whole test suite (unit, integration, template)"
	@echo "make lint | format | build | validate | bench | clean"

# Pinned: requirements-dev.lock (`make lock` refreshes it from pyproject.toml).
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --quiet --python $(PY) -r requirements-dev.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

$(SAM_VENV)/.installed: Makefile $(VENV)/.installed
	test -x $(SAM_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python "aws-sam-cli==$(SAM_CLI_VERSION)"
	touch $@

# checkov, like sam, pins libraries of its own: it gets its own environment too.
$(CHECKOV_VENV)/.installed: Makefile $(VENV)/.installed
	test -x $(CHECKOV_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python "checkov==$(CHECKOV_VERSION)"
	touch $@

install: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

lock: $(VENV)/.installed
	$(UV) pip compile --quiet pyproject.toml --extra dev -o requirements-dev.lock --python-version 3.11

test: install
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

build: install
	$(SAM) build --cached
	@du -sh .aws-sam/build/AiWardenLayer .aws-sam/build/EvaluateFunction

validate: install
	$(SAM) validate --lint

demo: $(VENV)/.installed
	$(VENV)/bin/aiwarden demo

docs: $(VENV)/.installed
	$(VENV)/bin/aiwarden patterns --write template.yaml
	$(VENV)/bin/aiwarden docs --output docs/checks.md --readme README.md

# Property-based tests with thousands of examples per property (CI runs the quicker profile).
fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=nightly $(PY) -m pytest tests/unit/test_properties.py

bench: install
	$(PY) bench/run.py

pr: lint test

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .ruff_cache
