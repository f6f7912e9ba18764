# Two commands: `make run` (demo app on http://127.0.0.1:5000) and `make test` (lint + whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ASSETS := mentoring/static/vendor/nhsuk
CSS := mentoring/static/vendor/app.css
FRONTEND := node_modules/nhsuk-frontend/dist/nhsuk

.PHONY: setup run test lint format clean bench bench-web dist

setup: $(VENV)/.installed $(ASSETS)/.copied $(CSS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# The NHS.UK frontend comes from the npm registry and is served by the app itself (no CDN).
$(ASSETS)/.copied: node_modules/.package-lock.json
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)
	cp -r $(FRONTEND)/assets/. $(ASSETS)/
	cp $(FRONTEND)/nhsuk-frontend.min.js $(ASSETS)/
	touch $@

# Built from the NHS.UK frontend's Sass so that nothing (not even the web font) loads from a CDN.
$(CSS): assets/app.scss node_modules/.package-lock.json
	mkdir -p $(dir $@)
	npx sass --no-source-map --style=compressed --quiet-deps --load-path=node_modules $< $@

run: setup
	MENTORING_ENV=development $(BIN)/mentoring db upgrade
	MENTORING_ENV=development $(BIN)/mentoring demo
	MENTORING_ENV=development $(BIN)/mentoring run

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -n auto --dist loadfile

lint: setup
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python benchmarks/optimiser.py

# Web load: gunicorn, a scratch database on the local PostgreSQL server, 50 signed-in users.
bench-web: setup
	$(BIN)/python benchmarks/web.py

# The release: one wheel carrying the templates, migrations and built assets (docs/operations.md).
dist: setup
	rm -rf build dist
	$(BIN)/python -m pip wheel --no-deps --quiet -w dist .

clean:
	rm -rf $(VENV) node_modules mentoring/static/vendor instance build dist
