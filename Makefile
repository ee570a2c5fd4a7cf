# tierdesk: `make test` and `make demo` each build their own virtual environment first.
# The environment installs the exact versions pinned in constraints.txt (`make lock` regenerates it
# from pyproject.toml; `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest allowed).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK_FLAGS ?=
# test files spread over this many processes (pytest-xdist); most tests wait on emulators and
# worker processes, so three share two cores well. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 3

.PHONY: test demo lint typecheck unit venv bench lock clean schema

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.5'
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--custom-compile-command 'make lock' $(LOCK_FLAGS) -o constraints.txt

lint: $(STAMP)
	$(BIN)/ruff check connector plugins tests bench worker.py
	$(BIN)/ruff format --check connector plugins tests bench worker.py

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

demo: $(STAMP)
	$(BIN)/tierdesk demo

# The JSON Schema the example mappings name on their first line (yaml-language-server).
schema: $(STAMP)
	$(BIN)/tierdesk schema > mappings/tierdesk.schema.json

bench: $(STAMP)
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
