# Two commands: `make up` runs the embedded cloud, `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: up test lint types unit install clean sandbox

# Debian ships venv without ensurepip unless python3-venv is installed: then the system pip
# bootstraps pip into the bare environment instead.
$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) \
	  && $(PYTHON) -m pip --python $(BIN)/python install -q pip; }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

# Customers' jobs run in a bubblewrap sandbox (docs/security.md): as root, install it when missing;
# otherwise say the one command that does.
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null; }; \
	  else \
	    echo "neocloud runs jobs in a bubblewrap sandbox: install it first (sudo apt-get install bubblewrap)" >&2; \
	    exit 1; \
	  fi; }

up: $(BIN)/.installed sandbox
	$(BIN)/neocloud up $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

types: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed sandbox
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint types unit

# Regenerate the lock after changing dependencies in pyproject.toml.
lock: $(BIN)/.installed
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
