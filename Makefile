# Two commands do all set-up on a fresh machine:
#   make run    builds .venv on first use, then runs the main job (the search) on embedded defaults
#   make test   builds .venv on first use, then runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Local search workers, one thread each (a second thread per process buys nothing here).
WORKERS ?= 2

.PHONY: run demo test lint format bench clean

$(BIN)/nas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of PyTorch first: an unpinned torch would pull gigabytes of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/nas
	$(BIN)/nas search --cell gru --budget 200 --workers $(WORKERS)

demo: $(BIN)/nas
	$(BIN)/nas evaluate --cell gru --family ws --nodes 30 --seed 1

test: $(BIN)/nas
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(BIN)/nas
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/nas
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/nas
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
