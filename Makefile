# Lookout — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PY_BOOT ?= python3
UV_VERSION := 0.13.8
VENV := .venv
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.synced

.PHONY: demo test lint bench clean

$(UV):
	$(PY_BOOT) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --inexact --python $(VENV)/bin/python
	touch $(STAMP)

demo: $(STAMP)  ## set up, generate the demo batch and score it with the shipped rules and model
	$(VENV)/bin/lookout demo --out out/demo

test: $(STAMP)  ## set up and run the whole test suite
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check engine rules models api benchmarks tests
	$(VENV)/bin/ruff format --check engine rules models api benchmarks tests
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks --help

clean:
	rm -rf $(VENV) out
