# Two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The incident-type model: built from the shipped corpus, so a fresh clone classifies (`ews model train`).
MODEL  := models/incident_types.skops

.PHONY: run test lint bench parity clean model

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# `exec`: the service replaces the recipe's shell, so on Ctrl-C make sees its own child exit cleanly
# instead of a shell killed by the signal (which made it print "*** [run] Interrupt" or "wait: No child
# processes" after a clean stop).
$(MODEL): $(STAMP) rules/classify/corpus/*.tsv rules/classify/model.py
	EWS_MODEL_FILE=$(MODEL) $(BIN)/ews model train

model: $(MODEL)

run: $(STAMP) $(MODEL)
	EWS_DATA_DIR=$${EWS_DATA_DIR:-.ews} exec $(BIN)/ews serve

test: $(STAMP) $(MODEL)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP) $(MODEL)
	$(BIN)/python bench/run.py

# Detectors against R `surveillance`'s alarms; reads ../shared/data/golden_surveillance when present.
parity: $(STAMP)
	$(BIN)/python bench/parity.py

clean:
	rm -rf $(VENV) models .pytest_cache .mypy_cache .ruff_cache *.egg-info
