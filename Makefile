# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing
# and installs the pinned dependencies (requirements.lock) before it runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

# Debian packages the code needs at run time: a Korean TrueType font (PDF reports, network
# pictures); and strace, with which the tests watch a scan make no network call
# (tests/test_offline.py). PostgreSQL for the second test leg is installed by
# scripts/postgres-test-server.
SYSDEPS := fonts-nanum strace

.PHONY: demo test check lint i18n bench evaluate-faces install clean sysdeps

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

install: $(STAMP)

# Installs only what is missing (needs root then); does nothing when all is there.
sysdeps:
	@missing=""; for p in $(SYSDEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing; run 'make sysdeps' as root"; exit 1; fi; \
	  apt-get update && apt-get install -y --no-install-recommends $$missing; \
	fi

demo: sysdeps $(STAMP)
	$(BIN)/haechi --home haechi-demo demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Message catalogues: extract every _() from the code, merge into the Korean .po (translate the
# new entries there), compile the .mo that ships. tests/test_i18n.py fails on a gap.
LOCALE := src/haechi/locale
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -o $(LOCALE)/haechi.pot src/haechi
	$(BIN)/pybabel update -N --no-wrap -D haechi -i $(LOCALE)/haechi.pot -d $(LOCALE)
	$(BIN)/pybabel compile -D haechi -d $(LOCALE)

# The fast lane for everyday work (under two minutes): lint, types and every test not marked slow,
# on SQLite. `make test` runs everything, on both databases.
check: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q -m "not slow"

# The same suite twice: on SQLite files, then on a throwaway PostgreSQL server
# (scripts/postgres-test-server installs Debian's postgresql when missing; needs root then).
# Outside CI, a machine that cannot run PostgreSQL skips the second leg and says so.
test: sysdeps lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=10
	@url=$$(scripts/postgres-test-server start) || { \
	  if [ -n "$$CI" ]; then echo "PostgreSQL test server failed to start" >&2; exit 1; fi; \
	  echo "skipping the PostgreSQL leg: no server could be started"; exit 0; }; \
	echo "== the same suite on PostgreSQL ($$url)"; \
	HAECHI_TEST_POSTGRES="$$url" $(BIN)/pytest -n $(PYTEST_WORKERS) -q; status=$$?; \
	scripts/postgres-test-server stop "$$url"; exit $$status

bench: $(STAMP)
	@# The naive face baseline (dlib) is a bench-only extra; the benchmark says so if it cannot install.
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[bench]' || echo "dlib baseline unavailable"
	$(BIN)/python benchmarks/run.py $(BENCH)

# The face evaluation (docs/evaluation/faces.md and its plot) from ../shared/testdata/faces.
evaluate-faces: $(STAMP)
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[eval,bench]'
	$(BIN)/python scripts/evaluate_faces.py

clean:
	rm -rf $(VENV) haechi-demo .mypy_cache .ruff_cache .pytest_cache
