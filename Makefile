# Two commands matter (see README.md):
#   make example   generate an example project with the defaults and run its pipeline
#   make test      run the template's whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE ?= build/example
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup example test test-fast lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r pyproject.toml
	@touch $@

example: setup  ## generate build/example with the defaults and run its whole pipeline
	rm -rf $(EXAMPLE)
	$(BIN)/copier copy --defaults --vcs-ref HEAD . $(EXAMPLE)
	$(MAKE) -C $(EXAMPLE) run

test: setup  ## the template's whole test suite
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

test-fast: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "not slow"

test-%: setup  ## run a generated project's make target, e.g. make test-lint
	rm -rf $(EXAMPLE)
	$(BIN)/copier copy --defaults --vcs-ref HEAD . $(EXAMPLE)
	$(MAKE) -C $(EXAMPLE) $*

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .cache build
