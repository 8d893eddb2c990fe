# Kessai — the two commands: `make run` (demo) and `make test` (everything CI checks).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint typecheck migrations-check pytest install clean chromium

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

lint: $(STAMP)
	$(BIN)/ruff check kessai tests bench
	$(BIN)/ruff format --check kessai tests bench

typecheck: $(STAMP)
	$(BIN)/mypy kessai

migrations-check: $(STAMP)
	$(BIN)/kessai makemigrations --check --dry-run

pytest: $(STAMP) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

## Browser tests drive Debian's chromium (Playwright cannot download its own browser here).
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
