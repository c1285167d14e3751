# WorkSpaces Autopilot. `make help` lists the targets; `make test` is the one command CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

AWS_REGION ?= eu-west-1
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# python3.12 (the Lambda runtime) where present: pyenv's, then one on PATH that really runs; else python3.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PY312 := $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12))),$(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null))
PYTHON ?= $(or $(PY312),python3)

VENV := .venv
VENV_BIN := $(VENV)/bin
TOOLS_VENV := .venv-tools
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# Each venv is rebuilt when the file that defines it changes (the stamp is keyed on its content).
VENV_STAMP := $(VENV)/.stamp-$(shell sha256sum pyproject.toml | cut -c1-16)
TOOLS_STAMP := $(TOOLS_VENV)/.stamp-$(shell sha256sum requirements-tools.txt | cut -c1-16)
SAM_STAMP := $(SAM_VENV)/.stamp-$(shell sha256sum requirements-sam.txt | cut -c1-16)
TOOLS_PINS := checkov==3.3.30 cfn-lint-serverless==0.3.6 cfn-lint==1.58.0
SAM_PINS := aws-sam-cli==1.170.0

# Unit tests get no socket at all (tests/unit/conftest.py); every other tier may reach loopback only
# (moto server-mode tests), never the network.
PYTEST_FLAGS ?= --allow-hosts=127.0.0.0/8,::1 --allow-unix-socket
PYTEST_ARGS ?=
# pytest-xdist: one worker per CPU. worksteal: each worker starts on its half of the tests, and one that runs dry takes
# half of what another has left, so a module of slow scenarios no longer caps the run on one worker (loadscope kept a
# module on one worker and handed out the modules with the fewest tests, the multi-day scenarios, last; loadgroup
# ignores its groups on pytest 9.2, pytest-xdist issue 1386). A module split between two workers builds its
# module-scoped world twice. Each test owns what it changes, so any order and any split gives the same result
# (PYTEST_ARGS=--reverse runs the tests backwards).
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL ?= -n $(PYTEST_WORKERS) --dist worksteal
# The edit-test loop: the pure tiers, no local cloud (well under a minute). test_gates.py runs checkov and
# cfn-lint three times on broken templates (a minute or more): `make lint` and `make test` run it.
FAST_TIERS ?= tests/unit tests/contract --ignore=tests/contract/test_gates.py

.PHONY: help venv tools-venv sam-venv demo test test-fast pytest lint gates build validate bench bench-smoke \
	layer-requirements schemas expand lock-tools lock-sam clean distclean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  python for venvs: $(PYTHON)"

venv: $(VENV_STAMP) ## create .venv (python3.12 where present) with the project and its dev tools
$(VENV_STAMP): pyproject.toml
	@test -x $(VENV_BIN)/python || $(PYTHON) -m venv $(VENV)
	$(VENV_BIN)/python -m pip install -q -e ".[dev]"
	@rm -f $(VENV)/.stamp-* && touch $@

tools-venv: $(TOOLS_STAMP) ## create .venv-tools (checkov, cfn-lint-serverless; pinned in requirements-tools.txt)
$(TOOLS_STAMP): requirements-tools.txt
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install -q -r requirements-tools.txt
	@rm -f $(TOOLS_VENV)/.stamp-* && touch $@

sam-venv: $(SAM_STAMP) ## create .venv-sam (AWS SAM CLI; pinned in requirements-sam.txt)
$(SAM_STAMP): requirements-sam.txt
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q -r requirements-sam.txt
	@rm -f $(SAM_VENV)/.stamp-* && touch $@

demo: venv ## the seed's day on the Docker-free local cloud: pre-warmed and cold logins side by side, then what the automation did
	$(VENV_BIN)/autopilot-local demo

test: venv tools-venv lint pytest ## THE test command: lint, then every pytest tier (unit, integration, contract, scenarios, fuzz)

# The 20 slowest tests are listed at the end of every run (CI's log included): docs/performance.md, the suite's time.
PYTEST_DURATIONS ?= --durations=20
pytest: venv tools-venv ## pytest only, in parallel (PYTEST_ARGS="tests/unit -x" to narrow, PYTEST_WORKERS=0 for one process)
	$(VENV_BIN)/pytest $(PYTEST_FLAGS) $(PYTEST_PARALLEL) $(PYTEST_DURATIONS) $(PYTEST_ARGS)

hostile: venv ## hostile mode: every scenario, seeds 1 to 20, against its calm run (HOSTILE_SEEDS=3-5 HOSTILE_SCENARIOS=a,b to narrow)
	HOSTILE_SEEDS=$${HOSTILE_SEEDS:-1-20} HOSTILE_SCENARIOS=$${HOSTILE_SCENARIOS:-all} \
	  $(VENV_BIN)/pytest $(PYTEST_FLAGS) -n $(PYTEST_WORKERS) --dist load tests/scenarios/test_hostile_mode.py -k holds $(PYTEST_ARGS)

test-fast: venv tools-venv ## the edit-test loop: unit and contract tiers only, in parallel (well under a minute)
	$(VENV_BIN)/pytest $(PYTEST_FLAGS) $(PYTEST_PARALLEL) $(FAST_TIERS) $(PYTEST_ARGS)

# The static gates (checkov and cfn-lint in their own processes, ~40 s) run in the background beside the Python
# checks (mypy, ~25 s on one core); their output is printed after them. The same checks and the same exit status.
lint: venv tools-venv ## ruff, ruff format, mypy, the import contracts (lint-imports), and the static gates on template.yaml
	@failed=""; gates_log=$$(mktemp); \
	run() { echo "--- $$*"; "$$@" || failed="$$failed [$$*]"; }; \
	gates=($(VENV_BIN)/python -m tools.gates template.yaml --out .aws-sam/expanded.json --tools-venv $(TOOLS_VENV)); \
	"$${gates[@]}" > "$$gates_log" 2>&1 & gates_pid=$$!; \
	run $(VENV_BIN)/ruff check . ; \
	run $(VENV_BIN)/ruff format --check . ; \
	run $(VENV_BIN)/mypy ; \
	run $(VENV_BIN)/mypy -p tools ; \
	run $(VENV_BIN)/lint-imports ; \
	echo "--- $${gates[*]}"; \
	wait "$$gates_pid" || failed="$$failed [$${gates[*]}]"; \
	cat "$$gates_log"; rm -f "$$gates_log"; \
	if [ -n "$$failed" ]; then echo "lint FAILED:$$failed"; exit 1; fi; \
	echo "lint clean"

gates: venv tools-venv ## the static gates only: cfn-lint (SAM + expanded), serverless rules, checkov, template rules, IAM database (parliament)
	$(VENV_BIN)/python -m tools.gates template.yaml --out .aws-sam/expanded.json --tools-venv $(TOOLS_VENV)

expand: venv ## write the SAM-expanded template to .aws-sam/expanded.json
	$(VENV_BIN)/python -m tools.expand_template --out .aws-sam/expanded.json

validate: sam-venv ## sam validate --lint (offline)
	$(SAM) validate --lint --region $(AWS_REGION)

build: sam-venv ## sam build (python3.12 on PATH for the functions and the deps layer)
	@test -n "$(PY312)" || { echo "make build needs python3.12 (pyenv's or on PATH)"; exit 1; }
	PATH="$(dir $(PY312)):$$PATH" $(SAM) build

bench: venv ## run the benchmarks (bench/results.json); builds first so the package sizes are measured
	@$(MAKE) build || echo "bench: make build failed: the package sizes will be reported as skipped"
	$(VENV_BIN)/python -m bench

bench-smoke: venv ## a quick pass of the benchmarks (bench/results-smoke.json)
	$(VENV_BIN)/python -m bench --smoke

layer-requirements: venv ## export pyproject's [project].dependencies to layers/deps/requirements.txt
	$(VENV_BIN)/python -m tools.export_layer_requirements

schemas: venv ## export the JSON Schema of every contract model to docs/schemas/
	$(VENV_BIN)/python -m tools.export_schemas

lock-tools: ## re-resolve requirements-tools.txt from TOOLS_PINS
	@tmp=$$(mktemp -d); $(PYTHON) -m venv $$tmp; $$tmp/bin/python -m pip install -q $(TOOLS_PINS); \
	{ sed -n '1,3p' requirements-tools.txt; $$tmp/bin/python -m pip freeze; } > requirements-tools.txt.new; \
	mv requirements-tools.txt.new requirements-tools.txt; rm -rf $$tmp

lock-sam: ## re-resolve requirements-sam.txt from SAM_PINS
	@tmp=$$(mktemp -d); $(PYTHON) -m venv $$tmp; $$tmp/bin/python -m pip install -q $(SAM_PINS); \
	{ sed -n '1,2p' requirements-sam.txt; $$tmp/bin/python -m pip freeze; } > requirements-sam.txt.new; \
	mv requirements-sam.txt.new requirements-sam.txt; rm -rf $$tmp

clean: ## remove build output and caches (keeps the venvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist .localcloud
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +

distclean: clean ## clean, and remove the three venvs
	rm -rf $(VENV) $(TOOLS_VENV) $(SAM_VENV)
