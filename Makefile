# Self-documenting Makefile: `make` alone lists the targets (one `## help` line each).
# Every target that needs Python creates .venv first if it is missing: uv (installed into .venv
# at the pinned UV_VERSION) installs the lock; if uv cannot be had, pip installs the same lock.
# Neither compiles bytecode at install: Python compiles each module on its first import (the
# notebook kernels always keep the result), so setup does not compile what nothing imports.

PYTHON     ?= python3
VENV       ?= .venv
BIN        := $(VENV)/bin
PY         := $(BIN)/python
READY      := $(VENV)/.ready
UV_VERSION := 0.13.9
# uv (default) or pip: which installer makes the environment (`make bench` times both)
INSTALLER  ?= uv
PIP        := $(PY) -m pip --disable-pip-version-check

.DEFAULT_GOAL := help
.PHONY: help uv data figures test lint synthetic checksums bench report lab lock clean

help: ## Show the targets and what they do
	@echo "Usage: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Set INSTALLER=pip to create .venv with pip instead of uv (e.g. make test INSTALLER=pip)."

$(READY): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || echo "Creating $(VENV) (pinned versions, with $(INSTALLER))"
	@if [ "$(INSTALLER)" = uv ] && $(MAKE) -s --no-print-directory uv VENV=$(VENV) \
	  && $(BIN)/uv pip install --quiet --python $(PY) -r requirements.txt -c constraints.txt -e .; then \
	  echo "$(VENV): pinned packages installed with uv $(UV_VERSION)"; \
	else \
	  if [ "$(INSTALLER)" = uv ]; then echo "uv $(UV_VERSION) could not be had; installing with pip"; fi; \
	  { test -x $(PY) || $(PYTHON) -m venv $(VENV); } && { $(PIP) --version >/dev/null 2>&1 || $(PY) -m ensurepip -q; } \
	  && $(PIP) install --quiet --no-compile -r requirements.txt -c constraints.txt \
	  && $(PIP) install --quiet --no-deps -e . \
	  && echo "$(VENV): pinned packages installed with pip"; \
	fi
	@touch $@

# uv comes from PyPI through pip (the interpreter's own pip, so the new venv needs no ensurepip
# step); pip is then added to the venv by uv, at the version ensurepip would have installed.
uv: ## Install uv (pinned UV_VERSION) into .venv; make uses it to install the lock
	@test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	@test "$$($(BIN)/uv --version 2>/dev/null | cut -d' ' -f2)" = $(UV_VERSION) \
	  || $(PYTHON) -m pip --disable-pip-version-check --python $(PY) install -q uv==$(UV_VERSION) 2>/dev/null \
	  || { $(PY) -m ensurepip -q && $(PIP) install -q uv==$(UV_VERSION); }
	@$(PIP) --version >/dev/null 2>&1 || $(BIN)/uv pip install -q --python $(PY) \
	  "pip==$$($(PY) -c 'import ensurepip; print(ensurepip.version())')"

data: $(READY) ## Download and verify the public data files (cache: .cache/external; offline: ANALYSIS_DATA_MIRROR)
	$(PY) -m analysis fetch

figures: $(READY) ## Build every figure and table (reruns only notebooks whose inputs changed)
	@$(PY) -m analysis fetch --quiet
	$(PY) -m analysis figures

test: $(READY) ## Run the whole test suite (lint included; builds figures first if stale)
	$(MAKE) --no-print-directory lint
	@$(PY) -m analysis fetch --quiet
	$(PY) -m analysis figures
	$(PY) -m pytest

lint: $(READY) ## Check code style with ruff
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

synthetic: $(READY) ## Regenerate data/synthetic/ byte-identically from its seed
	$(PY) -m analysis synthetic

checksums: $(READY) ## Refresh data/published/MANIFEST.csv after editing published data
	$(PY) -m analysis sources --update-checksums

bench: $(READY) ## Print the benchmark figures beside their targets (data generation, ingest, build speed)
	$(PY) -m analysis.pipeline.bench
	$(PY) -m analysis.pipeline.bench_pipeline

report: $(READY) ## Build the static HTML report into site/ (offline; opens from the file system)
	$(PY) -m analysis figures
	$(PY) -m analysis report

lab: $(READY) ## Start JupyterLab with the project's kernel
	$(PY) -m analysis lab

lock: ## Re-resolve constraints.txt from requirements.txt (needs the network)
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet -r requirements.txt
	{ echo "# Full lock: every package the pipeline and tests install, at the version they were tested with."; \
	  echo "# Regenerate with: make lock  (after changing requirements.txt)"; \
	  .lockenv/bin/pip freeze; } > constraints.txt
	.lockenv/bin/pip install --quiet -r requirements-lab.txt -c constraints.txt
	{ echo "# Full lock for make lab (pipeline packages plus JupyterLab); regenerate with make lock."; \
	  .lockenv/bin/pip freeze; } > constraints-lab.txt && rm -rf .lockenv

# build/timings.json (each notebook's last run time) is not an output: the runner schedules the
# longest notebooks first from it, so a build after `make clean` keeps the balanced order.
clean: ## Remove built outputs (figures, build stamps, executed notebooks, site); keeps .venv and the run times
	rm -rf site && find figures -mindepth 1 ! -name .gitkeep -delete
	test ! -d build || find build -mindepth 1 -maxdepth 1 ! -name timings.json -exec rm -rf {} +
