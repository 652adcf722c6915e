# django-qrauth: `make demo` serves the example project, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
MANAGE := cd example_project && ../$(BIN)/python manage.py

.PHONY: demo test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo,test]"
	touch $@

demo: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_users
	$(MANAGE) runserver $(ADDR)

test: $(VENV)/.installed lint
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist *.egg-info example_project/db.sqlite3 example_project/.redis
