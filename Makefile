# The two commands of the README: `make run` and `make test`. Everything else here
# serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint typecheck pytest services bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { echo "python3 venv support missing: installing python3-venv"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Run the suite on embedded stores: Ray + Serve on http://127.0.0.1:8000 (Ctrl-C stops).
run: $(STAMP)
	$(BIN)/armillary up

## Install what the tests need, start their servers, lint, type-check and run every test.
test: $(STAMP) services lint typecheck pytest

services:
	bash tests/setup/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/ingress.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
