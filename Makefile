# Kessai — the two commands: `make run` (demo) and `make test` (everything CI checks).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint typecheck migrations-check pytest install clean chromium fuzz security audit bench bench-orderlist bench-billing faults

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

## make bench — the quick benchmarks on a throwaway PostgreSQL (hub overhead, throughput, webhook ingestion;
## ~6 min), then the summary table of docs/benchmarks.md from bench/results/*.json (with the long runs' results
## below when present). BENCH_ARGS are passed to each scenario script.
BENCH_SCENARIOS ?= hub_overhead throughput webhook_ingest
bench: $(STAMP)
	scripts/pg-cluster bash -c 'rc=0; for s in $(BENCH_SCENARIOS); do $(BIN)/python bench/$$s.py $(BENCH_ARGS) || rc=1; done; exit $$rc'; \
	  rc=$$?; $(BIN)/python bench/report.py >/dev/null; exit $$rc

## make bench-orderlist — 受注リスト at ORDERS orders on PostgreSQL (1,000,000: seeding alone takes ~7 min).
ORDERS ?= 1000000
bench-orderlist: $(STAMP)
	scripts/pg-cluster bash -c '$(BIN)/kessai migrate --noinput && $(BIN)/kessai seed_orders --count $(ORDERS) \
	  --batch 10000 --shop ベンチショップ && $(BIN)/python bench/orderlist.py --shop ベンチショップ --runs 60'
	$(BIN)/python bench/report.py >/dev/null

## make bench-billing — 継続課金 run of SUBSCRIPTIONS due subscriptions (100,000: long) on PostgreSQL.
SUBSCRIPTIONS ?= 100000
bench-billing: $(STAMP)
	scripts/pg-cluster $(BIN)/python bench/billing_run.py --subscriptions $(SUBSCRIPTIONS) --workers 4 --threads 16
	$(BIN)/python bench/report.py >/dev/null

## make security — the security suite of docs/security.md with 10,000 schemathesis cases (fresh randomness),
## then pip-audit. CI runs the same tests with the default 1,100 fixed-seed cases.
SECURITY_FUZZ_CASES ?= 10000
security: $(STAMP) chromium
	KESSAI_FUZZ_CASES=$(SECURITY_FUZZ_CASES) KESSAI_FUZZ_RANDOM=1 $(BIN)/pytest tests/security tests/api/test_fuzz.py \
	  tests/api/test_tenant_isolation.py tests/backoffice/test_auth.py -q -p no:cacheprovider --durations=5
	$(MAKE) audit

## make audit — pip-audit of every pinned distribution (scripts/audit.py; CI: AUDIT_ARGS=--allow-unreachable).
audit: $(STAMP)
	$(BIN)/python scripts/audit.py $(AUDIT_ARGS)

## make faults — the fault suite, full version (docs/reliability.md): FAULTS_OPERATIONS payment operations through
## real web/worker processes and the four emulators under faults, SIGKILLs and PostgreSQL restarts, then the
## reconciliation with the emulators' ledgers (~10 min). Writes bench/results/faults.json and the "full" block of
## docs/reliability.md; FAULTS_SEED=N replays a run. CI runs the short version (tests/reliability/test_faults.py).
FAULTS_OPERATIONS ?= 10000
faults: $(STAMP)
	scripts/pg-cluster $(BIN)/python -m tests.reliability.driver --operations $(FAULTS_OPERATIONS) \
	  $(if $(FAULTS_SEED),--seed $(FAULTS_SEED)) --json bench/results/faults.json --markdown docs/reliability.md

## Browser tests drive Debian's chromium (Playwright cannot download its own browser here).
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
