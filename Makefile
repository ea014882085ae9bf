# Two commands for a new user: `make run` and `make test`. Both build .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint lint-spec openapi bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed  ## migrate, load the demo if empty, serve on http://127.0.0.1:8000
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/python serve.py

# The OpenAPI linters, pinned in package.json / package-lock.json (Node.js 20 and npm).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: $(VENV)/.installed-dev  ## run the whole suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) lint-spec
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lint-spec: node_modules/.installed  ## Redocly CLI (recommended) and Spectral (spectral:oas) on openapi/openapi.json: no error, no warning
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint openapi/openapi.json
	node_modules/.bin/spectral lint --fail-severity=warn openapi/openapi.json

openapi: $(VENV)/.installed  ## regenerate openapi/openapi.json from the live app
	DATABASE_URL=sqlite:// $(BIN)/flask openapi write --format json openapi/openapi.json

bench:  ## benchmark against Datasette → bench/RESULTS.md (BENCH_QUICK=1 smoke run, BENCH_SIZES=… sizes)
	$(PYTHON) bench/run.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
