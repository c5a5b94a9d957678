# Lookout — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PY_BOOT ?= python3
UV_VERSION := 0.13.8
VENV := .venv
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.synced

.PHONY: demo test lint bench clean chromium schemas

$(UV):
	$(PY_BOOT) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

# --compile-bytecode: the packages' .pyc written once at set-up (as pip does; uv does not by
# default). Without it every `lookout` run compiles the imported source again wherever
# PYTHONDONTWRITEBYTECODE is set: ~4 s of each run's start-up on this machine. The
# project's own packages are installed editable (their source stays here), so compileall
# writes theirs (~0.2-0.3 s of each run); a module edited later is compiled in memory
# until the next set-up, as Python checks each .pyc against its source.
$(STAMP): $(UV) pyproject.toml uv.lock Makefile
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --inexact --all-extras --compile-bytecode \
	  --python $(VENV)/bin/python
	$(VENV)/bin/python -m compileall -q -j 2 api engine models rules >/dev/null
	touch $(STAMP)

demo: $(STAMP)  ## set up, generate the demo batch and score it with the shipped rules and model
	$(VENV)/bin/lookout demo --out out/demo

test: $(STAMP) chromium  ## set up and run the whole test suite
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup

# The browser tests drive Debian's Chromium (no browser download at run time).
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(VENV)/bin/ruff check engine rules models api benchmarks tests
	$(VENV)/bin/ruff format --check engine rules models api benchmarks tests
	$(VENV)/bin/mypy

schemas: $(STAMP)  ## write the JSON Schema of every YAML document kind (from the models)
	$(VENV)/bin/python -m api.document_schemas

bench: $(STAMP)  ## run every benchmark (long; see benchmarks/README.md)
	$(VENV)/bin/python -m benchmarks.bench_e2e --rows 100000 1000000

clean:
	rm -rf $(VENV) out
