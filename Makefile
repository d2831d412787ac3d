# Two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench parity clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# `exec`: the service replaces the recipe's shell, so on Ctrl-C make sees its own child exit cleanly
# instead of a shell killed by the signal (which made it print "*** [run] Interrupt" or "wait: No child
# processes" after a clean stop).
run: $(STAMP)
	EWS_DATA_DIR=$${EWS_DATA_DIR:-.ews} exec $(BIN)/ews serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Detectors against R `surveillance`'s alarms; reads ../shared/data/golden_surveillance when present.
parity: $(STAMP)
	$(BIN)/python bench/parity.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
