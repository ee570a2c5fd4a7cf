# tierdesk: `make test` and `make demo` each build their own virtual environment first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck unit venv bench clean schema

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check connector plugins tests bench worker.py
	$(BIN)/ruff format --check connector plugins tests bench worker.py

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

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
