# django-qrauth: `make demo` serves the example project, `make test` runs the
# suite, `make test-fast` the quick part of it, `make docs` builds the
# documentation into docs/_build/html, `make bench` runs the benchmark
# (bench/run.py), `make test-all` the whole tox matrix, then `make test` and
# `make bench`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
MANAGE = cd example_project && REDIS_URL="$(REDIS_URL)" $(abspath $(BIN))/python manage.py

.PHONY: demo test test-fast docs lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.installed-test: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo,test]"
	touch $@

$(VENV)/.installed-docs: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[docs]"
	touch $@

$(VENV)/.installed-bench: setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo,bench]"
	touch $@

# ADDR=0.0.0.0:8000 serves the demo to the LAN (a phone), ADDR=127.0.0.1:9000
# picks another port; REDIS_URL=redis://host:6379/0 uses that server instead
# of the embedded one. demo/serve.py runs uvicorn and the embedded Redis as
# children that die with it (Ctrl-C, SIGTERM, or even SIGKILL of it).
demo: $(VENV)/.installed-demo
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_users
	cd example_project && REDIS_URL="$(REDIS_URL)" exec $(abspath $(BIN))/python -m demo.serve $(ADDR)

# The documentation (docs/), as HTML into docs/_build/html; a warning fails
# the build. `make test` builds it too (the test extra has Sphinx and furo).
SPHINX_BUILD = $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

docs: $(VENV)/.installed-docs
	$(SPHINX_BUILD)

# The suite on TEST_WORKERS processes (pytest-xdist; 2, as CI has two
# cores): about 9 minutes there instead of 14. A file's tests stay on one
# worker (--dist loadfile), so a file's browser, demo database and servers
# start once. TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
test: lint
	$(SPHINX_BUILD)
	scripts/ensure-tools chromium=chromium node=nodejs msgfmt=gettext
	scripts/ensure-axe
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# The quick loop while editing (about 20 s): no lint, no browser, none of the
# tests marked slow (servers and processes of their own, fuzzing, the load
# race, the QR reference matrices), and the Redis tests on fakeredis only,
# not on redis-server. `make test` (and CI) runs all of them.
# PYTEST_ARGS="-x" is passed on to pytest.
FAST_MARKERS ?= not browser and not slow
FAST_KEYWORDS ?= not redis-server
test-fast: $(VENV)/.installed-test
	$(BIN)/pytest -m "$(FAST_MARKERS)" -k "$(FAST_KEYWORDS)" -q $(PYTEST_ARGS)

# qrauth beside its baselines and peers (bench/run.py: the status poll, the
# whole hand-off against django-sesame, rendering, Redis memory and commands,
# cost growth); prints a table and writes bench/results.md.
bench: $(VENV)/.installed-bench
	scripts/ensure-tools wrk=wrk node=nodejs taskset=util-linux
	$(BIN)/python bench/run.py

# The tox matrix (tox.ini) finds its interpreters in pyenv: the pyenv shims
# do not run them, so their bin folders go on tox's PATH. TOX_ARGS="run -e
# py312-django60" runs one env.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo "$$HOME/.pyenv")
TOX_PYTHONS := $(sort $(wildcard $(PYENV_ROOT)/versions/3.1[0-3].*/bin))
TOX_ARGS ?= run-parallel --parallel auto --parallel-no-spinner
TOX_REQ ?= tox>=4.11

.PHONY: test-all tox

$(VENV)/.installed-tox: | $(BIN)/python
	$(BIN)/pip install --quiet "$(TOX_REQ)"
	touch $@

# Every tox env, then the browser tests and the benchmark, once each, here.
test-all: tox
	$(MAKE) test
	$(MAKE) bench

tox: $(VENV)/.installed-tox
	scripts/ensure-tools node=nodejs msgfmt=gettext
	PATH="$(if $(TOX_PYTHONS),$(subst $(eval) ,:,$(TOX_PYTHONS)):)$$PATH" $(BIN)/tox $(TOX_ARGS)

# Then no `global` statement in qrauth (PLW0602, PLW0603: the tests may keep
# theirs), and the import rules of .importlinter.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ruff check --select PLW0602,PLW0603 qrauth
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .tox build dist *.egg-info docs/_build example_project/db.sqlite3 example_project/.redis

