# The two commands: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck pytest bench bench-servers bench-page bench-risk bench-security bench-cold-start bench-projectx bench-venues bench-ea bench-billing clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## run: install, migrate, demo data, then web + worker + beat (Ctrl-C stops all)
run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-1} $(BIN)/python scripts/run.py

## test: lint, type-check and the whole suite on PostgreSQL and Redis
test: $(VENV)/.dev
	scripts/services.sh
	$(MAKE) lint typecheck pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	DEBUG=1 $(BIN)/mypy .

pytest: $(VENV)/.dev
	$(BIN)/pytest

## bench: the issue-6 figures on the real stack; writes bench/results.json and RESULTS.md
bench: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/run_all.py --command "make bench"

## bench-servers: daphne vs uvicorn vs gunicorn, merged into bench/results.json
bench-servers: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/servers.py --write bench/results.json

bench-page: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/alert_to_page.py

bench-risk: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/risk_checks.py

## bench-security: the issue-12 probes (fuzz, keys, dedupe with Redis stopped, a noisy neighbour)
bench-security: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/security.py

## bench-cold-start: the first answers after a restart, many symbols, resends mixed in
bench-cold-start: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/cold_start.py

## bench-projectx: alert-to-fill through the ProjectX fake beside paper's, and a fan-out to 20 ProjectX accounts
bench-projectx: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/projectx.py --write bench/results.json

## bench-venues: alert-to-fill through the ProjectX, Tradovate and TradeLocker fakes beside paper's, in one run
bench-venues: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/venues.py --write bench/results.json

## bench-billing: the entry allowance per execution (billing off, trial, a plan) and Stripe's webhook per event against the fake Stripe
bench-billing: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/billing.py

## bench-ea: MetaTrader alert-to-fill through the fake EA's long poll, and the server's CPU per idle EA (1000 of them)
bench-ea: $(VENV)/.dev
	scripts/services.sh
	$(BIN)/python bench/ea.py --write bench/results.json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
