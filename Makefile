# The front door. Every target sets up what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
PIP_FLAGS := --quiet --disable-pip-version-check
FUNCTION_DIRS := functions/auth functions/claims functions/claim_processing functions/providers functions/drugs functions/eligibility functions/ops
empty :=
space := $(empty) $(empty)
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := $(subst $(space),:,$(addprefix $(CURDIR)/,. layers/common $(FUNCTION_DIRS)))

.PHONY: help venv run test test-fast lint format build bench openapi import-roster import-drugs clean

help:
	@echo "make run        start the whole service locally on 127.0.0.1:3000 (ROSTER=file.csv to load a roster too)"
	@echo "make test       run unit, integration and end-to-end tests"
	@echo "make lint       ruff, ruff format --check, mypy, cfn-lint, sam validate --lint, checkov (template security)"
	@echo "make build      sam build (no containers)"
	@echo "make bench      cold-start and request-cost benchmarks"
	@echo "make openapi    regenerate functions/ops/openapi.json"
	@echo "make import-roster FILE=path.csv   load an eligibility file into the running local stack"
	@echo "make import-drugs [EXTRACT=allfiles.zip] [PRICES=prices.csv.gz]   (re)load the DPD drug extract into the running local stack"

$(VENV)/.installed: requirements/dev.txt requirements/runtime.txt
	@command -v $(PYTHON) >/dev/null || (echo "$(PYTHON) is required (or make PYTHON=/path/to/python3.11 ...)"; exit 1)
	@test -x $(PY) || (echo "creating $(VENV) (first run: installing the pinned dependencies)" && $(PYTHON) -m venv $(VENV))
	@$(PY) -m pip install $(PIP_FLAGS) -r requirements/dev.txt 2>&1 | grep -v "is ignored" || true
	@$(PY) -c "import moto, aws_lambda_powertools, pydantic, pytest, pycognito, schemathesis, openapi_python_client" || (echo "dependency install failed"; exit 1)
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	@command -v $(PYTHON) >/dev/null || (echo "$(PYTHON) is required (or make PYTHON=/path/to/python3.11 ...)"; exit 1)
	@test -x $(SAM_VENV)/bin/python || (echo "creating $(SAM_VENV) (AWS SAM CLI)" && $(PYTHON) -m venv $(SAM_VENV))
	@$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements/sam.txt 2>&1 | grep -v "is ignored" || true
	@test -x $(SAM) || (echo "aws-sam-cli install failed"; exit 1)
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@command -v $(PYTHON) >/dev/null || (echo "$(PYTHON) is required (or make PYTHON=/path/to/python3.11 ...)"; exit 1)
	@test -x $(CHECKOV_VENV)/bin/python || (echo "creating $(CHECKOV_VENV) (checkov)" && $(PYTHON) -m venv $(CHECKOV_VENV))
	@$(CHECKOV_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements/checkov.txt 2>&1 | grep -v "is ignored" || true
	@test -x $(CHECKOV_VENV)/bin/checkov || (echo "checkov install failed"; exit 1)
	@touch $@

venv: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m local.run $(if $(ROSTER),--roster $(ROSTER)) $(if $(PORT),--port $(PORT))

# Unit, integration and end-to-end in one pytest run over TEST_WORKERS pytest-xdist workers, a whole
# test file per worker (--dist loadfile: a module's fixtures and its local stack stay in one process).
# e2e modules share one local stack per worker (the ``stack`` fixture of tests/e2e/conftest.py, with
# a sample of the drug extract), stopped when the worker has no more file using it; the conformance,
# identity-doors and drugs-journey modules start their own. Files start in tests/conftest.py's order,
# longest first (--no-loadscope-reorder: xdist's default reorder, most tests first, started the two
# one-test schemathesis files last, on one worker, after everything else). The total wall-clock time
# is printed at the end (README, "Two commands": where the time goes).
TEST_WORKERS ?= 3
test: $(VENV)/.installed
	@start=$$(date +%s); status=0; \
	$(PY) -m pytest tests/unit tests/integration tests/e2e -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS) || status=$$?; \
	elapsed=$$(( $$(date +%s) - start )); \
	echo "make test: $$(( elapsed / 60 )) min $$(( elapsed % 60 )) s (exit $$status)"; \
	exit $$status

test-fast: $(VENV)/.installed
	$(PY) -m pytest tests/unit tests/integration -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

lint: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/common local tools bench $(wildcard $(FUNCTION_DIRS))
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml --region ca-central-1
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# sam build installs the layer's packages without bytecode, and Lambda's code directories are
# read-only: without .pyc files every cold start would compile boto3's botocore, pydantic and
# Powertools from source (about 1 s more; README "Performance"). So the built artifacts are
# compiled here, by the runtime's Python version (the bytecode does not depend on the CPU).
build: $(SAM_VENV)/.installed
	PATH="$(abspath $(SAM_VENV))/bin:$$PATH" $(SAM) build --template template.yaml
	@$(SAM_VENV)/bin/python -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))" || (echo ".venv-sam must be Python 3.11 (the functions' runtime) to compile their bytecode"; exit 1)
	$(SAM_VENV)/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

bench: $(VENV)/.installed
	$(PY) -m bench.run_all

openapi: $(VENV)/.installed
	$(PY) -m tools.generate_openapi

import-roster: $(VENV)/.installed
	@test -n "$(FILE)" || (echo "usage: make import-roster FILE=path/to/roster.csv"; exit 2)
	$(PY) -m tools.import_roster $(FILE)

import-drugs: $(VENV)/.installed
	$(PY) -m tools.import_drugs $(if $(EXTRACT),--extract $(EXTRACT)) $(if $(PRICES),--prices $(PRICES))

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .local-stack
