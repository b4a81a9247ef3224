# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing
# and installs the pinned dependencies (requirements.lock) before it runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo test lint bench install clean sysdeps

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev,demo]'
	touch $@

install: $(STAMP)

# Debian packages: fonts-nanum gives network pictures their Korean labels (PNG).
SYSDEPS := fonts-nanum
sysdeps:
	@command -v dpkg >/dev/null 2>&1 || exit 0; \
	missing=""; for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y $$missing; \
	  else echo "missing Debian packages:$$missing (install them as root)"; fi; \
	fi

demo: sysdeps $(STAMP)
	$(BIN)/haechi --home haechi-demo demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: sysdeps lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=10

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) haechi-demo .mypy_cache .ruff_cache .pytest_cache
