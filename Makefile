# mobilend — two commands on a fresh machine: `make run` and `make test`.
# Needs only Python 3.11+ and make; everything else is installed into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the dependency list changes.
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv run test lint browser-deps bench clean distclean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Migrate the database (the embedded server under var/ unless MOBILEND_DATABASE_URL is
# set), seed the demo products, train the default credit model if there is none, then
# run a background worker beside the web service until Ctrl-C, which stops the worker
# and the embedded PostgreSQL server too (`mobilend db stop` is a no-op for an external
# database).
run: venv
	$(BIN)/mobilend migrate
	$(BIN)/mobilend seed
	$(BIN)/mobilend model ensure-default
	@worker=; \
	trap 'test -n "$$worker" && kill $$worker 2>/dev/null && wait $$worker 2>/dev/null; $(BIN)/mobilend db stop >/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	if $(BIN)/mobilend worker --help >/dev/null 2>&1; then \
		$(BIN)/mobilend worker & worker=$$!; \
	fi; \
	$(BIN)/mobilend serve

lint: venv
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/check_import_cycles.py

# Every check and every test except full-size runs (marked slow). pytest exits 5 when it
# collects no test, which fails the build like any other non-zero status. The browser
# tests run in a pytest process of their own: Playwright's sync API keeps an event loop
# running in its thread, which code that starts its own loop (the job queue) refuses.
test: venv browser-deps lint
	$(BIN)/pytest -n 2 -m "not slow" --timeout=900 --ignore=tests/browser $(PYTEST_ARGS)
	$(BIN)/pytest -m "not slow" --timeout=900 tests/browser $(PYTEST_ARGS)

# Browser tests drive Debian's Chromium (never a downloaded browser build).
browser-deps:
	@if [ -d tests/browser ] && [ -n "$$(find tests/browser -name 'test_*.py' -print -quit)" ] \
		&& { [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; }; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-wqy-microhei; \
	fi

# The suite behind the README's performance table (full size: by hand, long). Quick
# size: `make bench BENCH_ARGS=--quick`; JSON: BENCH_ARGS=--json. The older per-area
# scripts stay in bench/ for deeper runs.
BENCH_ARGS ?=
bench: venv
	$(BIN)/mobilend bench $(BENCH_ARGS)

# Stop the local servers before their files go.
clean:
	@if [ -x $(BIN)/python ]; then \
		$(BIN)/python -c "from pathlib import Path; from mobilend.adapters.db.embedded import EmbeddedPostgres; [EmbeddedPostgres(p).stop() for p in Path('var').glob('pg*') if (p / 'data').is_dir()]"; \
	fi
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache build dist test-artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) src/*.egg-info
