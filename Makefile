# `make run` and `make test` bootstrap everything from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ANVIL := node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
PYTEST_ARGS ?=

.PHONY: run test lint bench contracts check-contracts worker clean chromium wrk

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Editable on purpose: our `crypto` and pycryptodome's `Crypto` differ only in case (see README).
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(STAMP)
	$(BIN)/trace serve --demo

worker: $(STAMP)
	$(BIN)/trace worker

# The browser tests drive Debian's chromium (never a downloaded browser build).
chromium:
	(command -v chromium >/dev/null && [ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]) || (apt-get update && apt-get install -y chromium fonts-noto-cjk)

test: $(STAMP) $(NODE_STAMP) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The scan bench drives the server with wrk (Debian) when it is there.
wrk:
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk) || true

bench: $(STAMP) $(NODE_STAMP) wrk
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

contracts: $(STAMP) $(NODE_STAMP)
	node scripts/compile-contracts.mjs

check-contracts: $(STAMP) $(NODE_STAMP)
	node scripts/compile-contracts.mjs --check

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
