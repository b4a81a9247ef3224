# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing
# and installs the pinned dependencies (requirements.lock) before it runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo test lint bench evaluate-faces install clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev,demo]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/haechi --home haechi-demo demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=10

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
