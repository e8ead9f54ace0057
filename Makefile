# Two entry points (see README): `make demo` runs mmtok on its built-in samples, `make test`
# runs the whole test suite. Both create or reuse .venv/ and install what they need.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.mmtok-installed

.PHONY: demo test lint bench

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# CPU torch first, so nothing below pulls a multi-GB CUDA build.
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e ".[test,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mmtok demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
