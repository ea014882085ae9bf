# Two commands for a new user: `make run` and `make test`. Both build .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint openapi bench clean

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

test: $(VENV)/.installed-dev  ## run the whole suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

openapi: $(VENV)/.installed  ## regenerate openapi/openapi.json from the live app
	DATABASE_URL=sqlite:// $(BIN)/flask openapi write --format json openapi/openapi.json

bench:  ## benchmark against Datasette → bench/RESULTS.md (BENCH_QUICK=1 smoke run, BENCH_SIZES=… sizes)
	$(PYTHON) bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
