# Everything installs itself: only python3, pip and make are assumed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test files run on this many processes (pytest-xdist; each has its own broker and Postgres).
# Three on two cores: many tests wait on subprocesses and the broker, and a third
# process fills those waits (11:32 of pytest; two took 13:38-13:52 in as slow an hour).
# Four gained nothing: 13:43 of pytest against 13:08 with three, in the same hour.
TEST_WORKERS ?= 3
# Python caches compiled modules (and pytest its rewritten tests) in __pycache__. An
# environment that turns that off (PYTHONDONTWRITEBYTECODE) has every process of the
# suite (about 250: CLI calls, worker children, API processes) compile Haven's modules
# again (0.1-0.3 s of CPU each), and each pytest process rewrite every test module.
unexport PYTHONDONTWRITEBYTECODE
SOURCES := events infra projectors services tests

.PHONY: install browser test lint typecheck unit integration e2e demo contracts clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The console's end-to-end tests drive Debian's chromium (Playwright never downloads one).
browser:
	@command -v chromium > /dev/null || { [ "$$(id -u)" = 0 ] \
	  && apt-get update -qq && apt-get install -y -qq chromium > /dev/null; } \
	  || { echo "chromium is missing: sudo apt-get install -y chromium" >&2; exit 1; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit tests/property

integration: install
	$(BIN)/pytest -q tests/integration

e2e: install browser
	$(BIN)/pytest -q tests/e2e

test: lint typecheck browser
	$(BIN)/python -m compileall -q -j 0 $(SOURCES)
	$(BIN)/haven contracts check
	$(BIN)/pytest -q -p no:cacheprovider --durations=25 -n $(TEST_WORKERS) --dist loadfile tests

contracts: install
	$(BIN)/haven contracts export

demo: install
	$(BIN)/haven demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
