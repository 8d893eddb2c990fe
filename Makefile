# Kessai — the two commands: `make run` (demo) and `make test` (everything CI checks).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint typecheck migrations-check pytest install clean chromium fuzz

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run — install, migrate SQLite, seed the demo shop, start web + worker + sandboxes.
run: $(STAMP)
	PORT=$(PORT) $(BIN)/kessai demo

## make test — install, then ruff, mypy, makemigrations --check, pytest.
test: $(STAMP) lint typecheck migrations-check pytest

LINT_PATHS := kessai tests $(wildcard bench scripts/*.py)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy kessai

migrations-check: $(STAMP)
	$(BIN)/kessai makemigrations --check --dry-run

pytest: $(STAMP) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

## make fuzz — schemathesis against the API: many more generated requests than CI, fresh randomness each run.
FUZZ_CASES ?= 20000
fuzz: $(STAMP)
	KESSAI_FUZZ_CASES=$(FUZZ_CASES) KESSAI_FUZZ_RANDOM=1 $(BIN)/pytest tests/api/test_fuzz.py -q -s -p no:cacheprovider

## Browser tests drive Debian's chromium (Playwright cannot download its own browser here).
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
