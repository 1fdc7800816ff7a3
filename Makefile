# nds — two commands matter: `make demo` and `make test`. `make help` lists the rest.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the tests, the demo and the benchmarks need; each component adds its own here.
APT_PACKAGES ?= postgresql openssl ca-certificates iproute2 nginx-light nsd unbound wrk chromium
STAMP_VENV := $(VENV)/.installed
STAMP_APT := $(VENV)/.apt-installed

.PHONY: help demo test test-fast lint bench system-deps venv clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

$(STAMP_APT): Makefile
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $@

system-deps: $(STAMP_APT) ## install the Debian packages (PostgreSQL, nginx, DNS servers, ...)

$(STAMP_VENV): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(STAMP_VENV) ## create the virtualenv and install nds with its dev tools

demo: system-deps venv ## set up and run the DigiLab demo with its web UI
	$(BIN)/nds digilab demo --state .nds/digilab

test: system-deps venv ## set up and run all tests (SQLite and a throwaway PostgreSQL)
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: venv ## unit tests only
	$(BIN)/python -m pytest -q -m "unit"

lint: venv ## ruff and mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: system-deps venv ## run every benchmark; each prints a ratio against its own baseline
	@set -e; for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) .nds
