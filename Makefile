# The two commands a newcomer needs: `make sandbox` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

JS_DIR   := tests/js
JS_STAMP := $(JS_DIR)/node_modules/.installed

.PHONY: sandbox test lint typecheck pytest deploy-lint clean test-deps chromium js-deps \
        webchat-vendor webchat-picture emoji-font lock audit sbom bench

# Dependencies come from the hashed lock (requirements/dev.lock), the project itself after them
# without dependencies, built with the locked setuptools (requirements/build.lock).
$(STAMP): pyproject.toml requirements/dev.lock requirements/build.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements/build.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

## Run pimbot on its embedded default: the bot and the Graph/Entra/Teams sandbox, on loopback.
## `make sandbox ENGINE=pim` runs the Zero Trust engine (docs/engines.md).
ENGINE ?= bot
sandbox: $(STAMP)
	$(BIN)/pimbot sandbox --engine $(ENGINE)

## Lint, type-check and run every test (PostgreSQL at 127.0.0.1:5432, database `test`).
test: lint typecheck pytest deploy-lint

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) test-deps
	$(BIN)/pytest

## pimbot against a bare echo bot, same twins, same run: messages per second and p99 at 1, 10 and
## 50 concurrent people, on SQLite and PostgreSQL, as ratios (bench/RESULTS.md). Not part of
## `make test`. `make bench BENCH_ARGS=--quick` for a first look.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench.throughput $(BENCH_ARGS)

## What the tests need besides Python, each installed only when missing: Debian's chromium (card
## rendering) and the npm packages of tests/js (Teams manifest schema, Adaptive Cards renderer).
test-deps: chromium js-deps

chromium:
	@test -x /usr/bin/chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

js-deps: $(JS_STAMP)

$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund
	touch $(JS_STAMP)

## The sandbox's web chat ships Microsoft's Adaptive Cards renderer as package data (it must work
## offline after `pip install`): copy it from the npm package pinned in tests/js (then update the
## version in its NOTICE; tests/webchat checks the two agree).
WEBCHAT_VENDOR := bot/sandbox/teams/web/vendor/adaptivecards
webchat-vendor: $(JS_STAMP)
	cp $(JS_DIR)/node_modules/adaptivecards/dist/adaptivecards.min.js \
	   $(JS_DIR)/node_modules/adaptivecards/dist/adaptivecards.min.js.LICENSE.txt \
	   $(JS_DIR)/node_modules/adaptivecards/dist/adaptivecards.css \
	   $(JS_DIR)/node_modules/adaptivecards/LICENSE $(WEBCHAT_VENDOR)/

## Redraw docs/webchat.png, the README's picture of the web chat, from the journey test.
webchat-picture: $(STAMP) test-deps emoji-font
	PIMBOT_WEBCHAT_PICTURE=$(CURDIR)/docs/webchat.png $(BIN)/pytest -q tests/webchat/test_journey.py

## Chromium draws the bot's ✅ and 🔒 with a colour emoji font (only the picture needs it).
emoji-font:
	@fc-list | grep -qi emoji || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-color-emoji; }

# checkov and hadolint live in their own venv: checkov pins ~70 packages (packaging<24 among them)
# that would otherwise downgrade pimbot's dev environment.
TOOLS       := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed

$(TOOLS_STAMP): infra/lint-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	echo '*' > $(TOOLS)/.gitignore
	$(TOOLS)/bin/pip install --quiet -r infra/lint-requirements.txt
	touch $(TOOLS_STAMP)

## Lint the Dockerfile (hadolint, checkov), the Azure Bicep in infra/ and the image workflow in
## .github/ (checkov).
deploy-lint: $(TOOLS_STAMP)
	$(TOOLS)/bin/hadolint Dockerfile
	$(TOOLS)/bin/checkov --file Dockerfile --quiet --compact --skip-download
	$(TOOLS)/bin/checkov --directory infra --quiet --compact --skip-download
	$(TOOLS)/bin/checkov --directory .github --framework github_actions --quiet --compact --skip-download

# --- supply chain: hashed locks, vulnerability audit, CycloneDX SBOM ----------------------------
SUPPLY       := .venv-supply
SUPPLY_STAMP := $(SUPPLY)/.installed
LOCKER       := .venv-lock
PIP_COMPILE  := $(LOCKER)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

$(SUPPLY_STAMP): requirements/tools.lock
	$(PYTHON) -m venv $(SUPPLY)
	echo '*' > $(SUPPLY)/.gitignore
	$(SUPPLY)/bin/pip install --quiet --require-hashes -r requirements/tools.lock
	touch $(SUPPLY_STAMP)

## Re-resolve every lock in requirements/ (after changing pyproject.toml or a *.in file).
lock:
	test -x $(LOCKER)/bin/pip-compile || { $(PYTHON) -m venv $(LOCKER) && echo '*' > $(LOCKER)/.gitignore \
		&& $(LOCKER)/bin/pip install --quiet pip-tools==7.7.0; }
	$(PIP_COMPILE) --output-file requirements/runtime.lock pyproject.toml
	$(PIP_COMPILE) --extra dev --output-file requirements/dev.lock pyproject.toml
	$(PIP_COMPILE) --output-file requirements/build.lock requirements/build.in
	$(PIP_COMPILE) --output-file requirements/tools.lock requirements/tools.in

## Known vulnerabilities in every locked package (PyPI's vulnerability data); --strict fails on
## a package it could not look up, so an unreachable source never passes as "no findings".
audit: $(SUPPLY_STAMP)
	$(SUPPLY)/bin/pip-audit --strict --disable-pip --progress-spinner off \
		-r requirements/runtime.lock -r requirements/dev.lock

## The CycloneDX SBOM of what the image installs (the Dockerfile makes the same from its venv).
sbom: $(SUPPLY_STAMP)
	mkdir -p var
	$(SUPPLY)/bin/cyclonedx-py requirements --output-reproducible --of JSON \
		-o var/sbom.cdx.json requirements/runtime.lock

clean:
	rm -rf $(VENV) $(TOOLS) $(SUPPLY) $(LOCKER) var .pytest_cache .mypy_cache .ruff_cache
