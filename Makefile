# Two commands: `make run` serves the demo company, `make test` runs the test suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true
export ANONYMIZED_TELEMETRY := False

.PHONY: run test test-sqlite test-postgres lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, from the exact pin: any other route lets pip pick a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/warmline demo --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	WARMLINE_TEST_BACKEND=sqlite $(BIN)/pytest -q

test-postgres: $(STAMP)
	WARMLINE_TEST_BACKEND=postgres WARMLINE_TEST_PG_URL=$(PG_TEST_URL) $(BIN)/pytest -q

test: lint test-sqlite test-postgres

clean:
	rm -rf $(VENV) var .pytest_cache
