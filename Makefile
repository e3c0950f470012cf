# KnoxCall (self-hosted): `make run` to try it, `make test` to test it. Both install into .venv first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

# Django 6 needs Python >= 3.12: take the first suitable interpreter on PATH or in pyenv.
PYTHON_CANDIDATES := python3.13 python3.12 python3 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3) \
	$(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3) $(wildcard /usr/local/bin/python3.1[2-9]) \
	$(wildcard /usr/bin/python3.1[2-9])
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v $$p; break; }; done)

.PHONY: run test install lint bench clean help
help:
	@echo "make run    install, migrate, load the demo and serve console + proxy on 127.0.0.1:$(PORT)"
	@echo "make test   install and run the whole test suite"
	@echo "make bench  proxy benchmark (see README)"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: KnoxCall needs Python 3.12 or newer (Django 6); none was found on PATH or in pyenv." >&2; \
		echo "       Install one, or run: make PYTHON=/path/to/python3.12 ..." >&2; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python manage.py knoxcall run --port $(PORT)

# The official KnoxCall SDK for the API contract test: pinned by hash, kept out of .venv (its wheel ships a
# .pth that patches httpx in every interpreter of an environment). Offline, the test skips (fails under CI).
SDK_DIR := var/sdk/knoxcall-1.2.0
$(SDK_DIR)/knoxcall/__init__.py: tests/support/knoxcall-sdk.txt | $(BIN)/python
	-$(BIN)/python -m pip install --quiet --no-deps --require-hashes --target $(SDK_DIR) \
		-r tests/support/knoxcall-sdk.txt

test: install $(SDK_DIR)/knoxcall/__init__.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/proxy.py $(BENCH_ARGS)
	$(BIN)/python bench/release_split.py

clean:
	rm -rf $(VENV) var .pytest_cache
