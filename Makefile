# Two entry points: `make repro` (set up, then run the pipeline) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export MPLBACKEND := Agg

.PHONY: install repro test test-all lint bench mlflow-ui clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

repro: install  ## run the whole DVC pipeline on the embedded synthetic data
	dvc repro

test: install   ## fast test suite (what CI runs)
	ruff check .
	ruff format --check .
	pytest -n 2

test-all: install  ## everything, including slow tests
	pytest -n 2 -m ""

lint: install
	ruff check . && ruff format --check .

bench: install
	python -m benchmarks.generate
	python -m benchmarks.features
	python -m benchmarks.train

mlflow-ui: install  ## browse runs in the local store (light server: 1 worker, no job runner)
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui --backend-store-uri sqlite:///mlflow.db --workers 1

clean:
	rm -rf data/raw data/interim data/processed data/models data/reports data/scores
