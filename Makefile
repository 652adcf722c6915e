# django-qrauth: `make demo` serves the example project, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
MANAGE = cd example_project && REDIS_URL="$(REDIS_URL)" $(abspath $(BIN))/python manage.py

.PHONY: demo test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.installed-test: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo,test]"
	touch $@

# REDIS_URL=redis://host:6379/0 uses that server instead of the embedded one.
demo: $(VENV)/.installed-demo
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_users
	$(MANAGE) runserver $(ADDR)

test: lint
	scripts/ensure-test-tools
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist *.egg-info example_project/db.sqlite3 example_project/.redis
