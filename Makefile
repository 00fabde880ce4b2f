# Two targets a person needs (see README): `make demo` and `make test`.
# Each sets up its own virtual environment in .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# `make demo PORT=8080 GATEWAY_PORT=9213 DATA_DIR=other-data`: the demo's options (README)
PORT         ?= 8000
GATEWAY_PORT ?= 9212
DATA_DIR     ?= bishui-data

.PHONY: demo test lint typecheck pytest bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e . --group dev
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/bishui demo --port $(PORT) --gateway-port $(GATEWAY_PORT) --data-dir $(DATA_DIR)

test: lint typecheck pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# Coverage is measured here, not in pytest's own options, so that running a subset of the
# tests while working is neither slowed nor failed by the floor ([tool.coverage] in
# pyproject.toml).
# Three worker processes (pytest-xdist), each test file whole on one of them (`--dist loadfile`:
# a file's module fixtures are built once): the suite's time on the project's 2-core machine
# (docs/benchmarks.md, "The test suite's time").
pytest: $(VENV)/.installed
	$(PY) -m pytest -n 3 --dist loadfile --cov --cov-report=term

bench: $(VENV)/.installed
	$(PY) bench/run_all.py --short

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
