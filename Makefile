# The two commands: `make demo` runs the lakehouse, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo run stop status install tools test test-unit test-faults lint bench clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' \
		|| { echo "error: Python 3.11 or 3.12 is needed as '$(PYTHON)' (set PYTHON=...)"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)                 ## Python dependencies into .venv

tools: install                        ## MinIO (built with Go) and the Spark jars into .tools
	$(BIN)/lakehouse install

demo: install                         ## start the lakehouse with the API simulator
	$(BIN)/lakehouse up

run: install                          ## start the lakehouse against the live APIs
	$(BIN)/lakehouse up --live

stop:                                 ## stop everything demo/run started
	@if [ -x $(BIN)/lakehouse ]; then $(BIN)/lakehouse down; else echo "nothing to stop"; fi

status: install
	$(BIN)/lakehouse status

test: tools                           ## ruff and mypy, then unit, integration and end-to-end tests
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest --durations=25

test-faults: tools                    ## the fault suite in full (20 kills on MinIO...), one table
	LAKEHOUSE_FAULTS=full $(BIN)/pytest -m faults -s -p no:cacheprovider

test-unit: install
	$(BIN)/pytest -m "not integration and not e2e"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: tools                          ## benchmarks: figures into bench/results/<date>.json (QUICK=1: short)
	$(BIN)/python bench/run.py $(if $(QUICK),--quick)

clean: stop                           ## remove local state (data, logs, credentials); keeps .tools
	rm -rf .lakehouse
