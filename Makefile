# Chronicle's tasks. `make run` and `make test` are the README's quick start.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
# The first Python 3.11+ on the PATH.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: setup run test lint pytest bench bench-quick clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Chronicle needs Python 3.11 or newer on the PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# The service with demo data and, in the same process, the worker's pieces (async read models,
# the sealer, the relay when enabled): the whole system in one command; Ctrl-C stops it all.
run: setup
	$(BIN)/chronicle migrate
	$(BIN)/chronicle stats
	$(BIN)/chronicle serve --demo

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The suite runs the benchmarks' own code too (tests/bench), so it takes their dependency group.
pytest: $(VENV)/.bench-installed
	$(BIN)/pytest

test: lint pytest

# Benchmarks (bench/): Chronicle beside the raw driver and the eventsourcing library.
# The peer is the optional dependency group `bench`; PostgreSQL at CHRONICLE_BENCH_POSTGRES_URL.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run $(ARGS)

bench-quick: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run --quick $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
