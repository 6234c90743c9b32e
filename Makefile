# Two commands for a fresh machine with Python 3.11, 3.12 or 3.13: `make run` and `make test`.
# The first of python3.11, python3.12, python3.13, python3 that runs and is 3.11 or later is used;
# PYTHON=/path/to/python picks another, VENV=.venv312 keeps its virtual environment apart.
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-fast clean

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "Heard needs Python 3.11, 3.12 or 3.13: none found on PATH (or set PYTHON=/path/to/python3.12)" >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v[:2] >= (3, 11) else "Heard needs Python 3.11 or later; $(PYTHON) is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## make run: install, migrate the embedded SQLite database and start Heard.
run: $(STAMP)
	$(BIN)/heard db upgrade
	$(BIN)/heard serve

# axe-core for the accessibility test, when npm is here (without it, browser tests that need it skip).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --silent --no-audit --no-fund && touch $@; \
	else echo "npm not found: the accessibility test will be skipped"; fi

## make test: install and run the whole test suite (PostgreSQL too when HEARD_TEST_POSTGRES_URL is set;
## browser tests when Chromium is at /usr/bin/chromium).
test: $(STAMP) node_modules/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make test-fast: the suite without slow and browser tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var node_modules
