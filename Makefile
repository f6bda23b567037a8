# The two commands of the README: `make run` and `make test`. Everything else here
# serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint typecheck pytest services bench clean web web-test image

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
## Installs only what running needs: Tesseract (apt, when missing), the virtualenv.
run: $(STAMP) web
	bash tests/setup/system-deps.sh --run
	$(BIN)/armillary up

## The web interface (frontend/web/dist, served at /): built when missing; without npm the
## API is served alone.
web:
	@if [ -f frontend/web/dist/index.html ]; then :; \
	elif ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: the web interface is not built (install Node.js >= 20 and npm); serving the API only"; \
	else (cd frontend && npm ci --no-audit --no-fund && npm run build) || \
	  echo "building the web interface failed; serving the API only"; fi

## Web app (Vitest, also the shared package's tests), mobile app (Jest + React Native
## Testing Library), then both end-to-end runs in headless Chromium against the suite (the
## mobile one on the app's web build at phone size).
web-test: $(STAMP)
	cd frontend && npm ci --no-audit --no-fund
	cd frontend && npm run build
	cd frontend/web && npx vitest run
	cd frontend/mobile && npx tsc -p . && npx jest --ci
	cd frontend/web && node e2e/run.mjs
	cd frontend/mobile && npm run export:web && node e2e/run.mjs

## Install what the tests need, start their servers, lint, type-check and run every test.
test: $(STAMP) services lint typecheck pytest web-test

services:
	bash tests/setup/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

## The suite's container image (cluster/image/Dockerfile, context: the repository root), tagged
## with the settings' `image` (ARMILLARY_IMAGE; what config/compose.yaml and the KubeRay
## manifests run). Needs a Docker engine; not part of `make test`. Build + run check:
## cluster/image/smoke.sh.
image: $(STAMP)
	docker build -f cluster/image/Dockerfile \
	  -t "$$($(BIN)/python -c 'from config.settings import load_settings; print(load_settings().image)')" .

bench: $(STAMP)
	$(BIN)/python benchmarks/ingress.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache frontend/node_modules frontend/web/dist test-artifacts
