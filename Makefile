# claimflow — `make help` lists the targets.
SHELL := /bin/bash
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
# uv from PATH, else the one pip installs into this Python (bootstrapped below).
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced

.PHONY: help install demo test test-fast check lint typecheck bench bench-night bench-growth clean validator-conformance

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --locked --all-groups --all-extras --quiet
	@touch $@

install: $(STAMP) ## Create .venv from the committed lock (uv)

demo: $(STAMP) ## Run the whole nightly job against the embedded clearinghouse (writes ./out)
	$(VENV)/bin/claimflow demo --out out

test: $(STAMP) ## Run the test suite (services it needs are started by .ci/run or skipped)
	$(PY) -m pytest -q

test-fast: $(STAMP) ## The suite without the end-to-end tests (marker e2e), in under 2 minutes
	$(PY) -m pytest -q -m "not bench and not e2e"

check: lint typecheck ## ruff + mypy (strict on pipeline/)

lint: $(STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check pipeline flows tests
	$(VENV)/bin/ruff format --check pipeline flows tests

typecheck: $(STAMP) ## mypy, strict on pipeline/, relaxed on tests/
	$(VENV)/bin/mypy pipeline flows tests

bench: $(STAMP) ## Slow benchmarks (reader, parser, builder throughput, memory)
	$(PY) -m pytest -q -m bench -p no:cacheprovider -s tests/bench

validator-conformance: $(STAMP) ## Rewrite docs/validator-conformance.md (compiled checker vs pyx12)
	$(PY) -m pipeline.x12.compiled_conformance

clean: ## Remove the virtualenv, caches and demo output
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache

N ?= 1000
NIGHT = out/bench-night-$(N)$(if $(WORKERS),-w$(WORKERS))
bench-night: $(STAMP) ## Scale harness: the night on N claims, RUNS times (N=100000 RUNS=3 [WORKERS=2]), median table
	@set -e; for i in $$(seq 1 $(or $(RUNS),1)); do \
	  rm -rf $(NIGHT)/run-$$i; \
	  $(VENV)/bin/claimflow demo --claims $(N) --out $(NIGHT)/run-$$i --timings \
	    $(if $(WORKERS),--workers $(WORKERS)); \
	done
	$(PY) -m pipeline.benchnight median $(NIGHT)/run-*/timings.json

bench-growth: $(STAMP) ## Median CPU per stage by size from earlier bench-night runs (1k, 10k, 100k)
	$(PY) -m pipeline.benchnight growth $(sort $(filter-out $(wildcard out/bench-night-*-w*),$(wildcard out/bench-night-*)))
