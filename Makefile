# Self-documenting Makefile: `make` alone lists the targets (one `## help` line each).
# Every target that needs Python creates .venv first if it is missing (pip, pinned versions).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
READY  := $(VENV)/.ready

.DEFAULT_GOAL := help
.PHONY: help data figures test lint synthetic checksums bench report lab lock clean

help: ## Show the targets and what they do
	@echo "Usage: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(READY): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || { echo "Creating $(VENV) (pinned versions; about a minute)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

data: $(READY) ## Download and verify the public data files (cache: .cache/external; offline: ANALYSIS_DATA_MIRROR)
	$(PY) -m analysis fetch

figures: $(READY) data ## Build every figure and table (reruns only notebooks whose inputs changed)
	$(PY) -m analysis figures

test: $(READY) ## Run the whole test suite (lint included; builds figures first if stale)
	$(MAKE) --no-print-directory lint
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

clean: ## Remove built outputs (figures, build stamps, site); keeps .venv
	rm -rf build site && find figures -mindepth 1 ! -name .gitkeep -delete
