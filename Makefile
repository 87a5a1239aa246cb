# The two commands of the README: `make run` (the whole local stack) and `make test` (lint + every test tier).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMPS  := .local/stamps
PYTEST_ARGS ?=
TASKS_EMULATOR := gcloud-tasks-emulator==0.6.2

.PHONY: help install bundle run test unit lint lint-deploy bench demo soak backtest clean-stamps

help:
	@echo "make run    start the local stack (Firestore + Cloud Tasks emulators, functions, dashboard)"
	@echo "make test   install, lint (ruff, mypy), then every test tier (pytest -n 2)"
	@echo "make demo   the stack + paper bridge + the sample session replayed (DEMO_ARGS='--auto tp8-flip')"
	@echo "make soak   the whole sample session through the stack with a faulty bridge, then the invariants"
	@echo "make unit   the inner loop: the rules' unit tests in seconds (UNIT_ARGS='-k fills' to narrow)"
	@echo "make bundle the deploy's build only (python3 + npm; no venv, Java or Chromium): deploy/README.md"
	@echo "make backtest | make lint | make bench | make install"

# --- install: each step runs again only when its inputs change -----------------------------------------------

$(PY):
	python3 -m venv $(VENV)

# pip runs again when a requirements file changes or the venv is recreated (the stamp lives inside it)
PIP_STAMP := $(VENV)/.operatorlock-installed

# gcloud-tasks-emulator's own pins are stale: installed without dependencies (requirements-dev.txt has them)
$(PIP_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps $(TASKS_EMULATOR)
	@mkdir -p $(@D) && touch $@

$(STAMPS)/system: scripts/check_system.sh
	scripts/check_system.sh
	@mkdir -p $(@D) && touch $@

# the dashboard's charting library: pinned by package-lock.json, copied next to the page (no CDN; git-ignored)
# and firebase-tools (devDependencies): the Authentication emulator `make run` starts (OPERATOR_AUTH=firebase)
CHARTS_JS := node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js
$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p hosting/public/vendor && cp $(CHARTS_JS) hosting/public/vendor/
	@mkdir -p $(@D) && touch $@

install: $(PIP_STAMP) $(STAMPS)/system $(STAMPS)/npm
	@# cheap re-checks: a stamp must not hide a machine that lost java, the jar or chromium
	@command -v java >/dev/null || { rm -f $(STAMPS)/system; echo "java disappeared: run make install again" >&2; exit 1; }
	@test -x /usr/bin/chromium || { rm -f $(STAMPS)/system; $(MAKE) --no-print-directory $(STAMPS)/system; }
	@test -x $(VENV)/bin/gcloud-tasks-emulator || { rm -f $(PIP_STAMP); $(MAKE) --no-print-directory $(PIP_STAMP); }
	@test -f hosting/public/vendor/lightweight-charts.standalone.production.js || { rm -f $(STAMPS)/npm; $(MAKE) --no-print-directory $(STAMPS)/npm; }
	@test -x node_modules/.bin/firebase || { rm -f $(STAMPS)/npm; $(MAKE) --no-print-directory $(STAMPS)/npm; }

# What a deploy needs and nothing more (deploy/README.md section 2): the functions' source bundle (standard-library
# Python) and the dashboard's chart library (the runtime npm dependency only).
bundle:
	python3 scripts/build_bundle.py deploy/.build/bundle
	npm ci --omit=dev --no-audit --no-fund
	mkdir -p hosting/public/vendor && cp $(CHARTS_JS) hosting/public/vendor/

# --- the two commands ---------------------------------------------------------------------------------------

# RUN_ARGS=--receiver: print every notification at a local receiver (issue 20)
RUN_ARGS ?=
run: install
	$(PY) -m devstack.run $(RUN_ARGS)

# Two runs: the domain's unit tier under branch coverage (100 % of shared/domain, enforced), then every other tier.
# pytest exits 5 when it collects nothing: that fails this target like any other failure.
# A run narrowed by PYTEST_ARGS (-k, a file) cannot cover every rule, so it is not held to the 100 %.
COVERAGE := --cov=shared/domain --cov-branch --cov-report=term-missing:skip-covered \
	$(if $(PYTEST_ARGS),,--cov-fail-under=100)
test: install lint
	$(PY) -m pytest -n 2 tests/unit $(COVERAGE) $(PYTEST_ARGS)
	$(PY) -m pytest -n 2 --ignore=tests/unit $(PYTEST_ARGS)

# The inner loop: the unit tier with a tenth of the invariant examples, no lint, no coverage gate, no emulator.
UNIT_ARGS ?=
unit: $(PIP_STAMP)
	INVARIANTS_QUICK=1 $(PY) -m pytest -q -n 2 -p no:cacheprovider tests/unit $(UNIT_ARGS)

# --- the rest -----------------------------------------------------------------------------------------------

# mypy gets every source root that has Python in it (tests/ and bench/ are excluded in pyproject.toml)
MYPY_ROOTS = $(foreach d,shared functions devstack scripts sim,$(if $(shell find $(d) -name '*.py' 2>/dev/null),$(d)))

lint: install lint-deploy
	$(PY) -m ruff check .
	$(PY) -m mypy $(MYPY_ROOTS)

# The deployment's static checks: terraform fmt and checkov (suppressions are justified inline, checkov:skip=).
# checkov has its own venv (deploy/requirements-checkov.txt says why); it is rebuilt when its pin changes.
CHECKOV_VENV  := .local/checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.operatorlock-installed
$(CHECKOV_STAMP): deploy/requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r deploy/requirements-checkov.txt
	@touch $@

lint-deploy: install $(CHECKOV_STAMP)
	CHECKPOINT_DISABLE=1 $(VENV)/bin/terraform fmt -check -recursive -diff deploy/terraform
	$(CHECKOV_VENV)/bin/checkov -d deploy/terraform --framework terraform --skip-download --quiet --compact

# The simulator (sim/): the whole loop without TradingView or a broker (README "Practise, replay, backtest").
DEMO_ARGS ?=
demo: install
	$(PY) -m sim.demo $(DEMO_ARGS)

soak: install
	$(PY) -m sim.soak

backtest: install
	$(PY) -m sim.backtest --out .local/backtest $(BACKTEST_ARGS)

bench: install
	@if [ -f bench/run.py ]; then $(PY) bench/run.py; else echo "no bench/run.py yet"; fi

clean-stamps:
	rm -rf $(STAMPS) $(PIP_STAMP) $(CHECKOV_STAMP)
