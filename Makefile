# spikelearn developer entry points. Each target does its own set-up.
#   make demo   the main job: the pretrained keyword spotter learns new words
#   make test   installs everything (system packages included) and runs the whole suite
#   make docs   builds the documentation site into docs/_build/html
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test docs lint system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Runtime install only: what a device-side user has (numpy, numba, ...; no TensorFlow).
$(VENV)/.runtime: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

# Everything the tests need: Keras extra, docs, dev tools.
$(VENV)/.dev: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e ".[keras,docs,dev]"
	touch $@ $(VENV)/.runtime $(VENV)/.docs

# The documentation site: the Keras extra (the gallery converts a model) and the docs extra.
$(VENV)/.docs: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e ".[keras,docs]"
	touch $@ $(VENV)/.runtime

# espeak-ng makes the synthetic speech corpus used by tests and training.
system-deps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq espeak-ng >/dev/null; \
	  else echo "espeak-ng is missing: run 'sudo apt-get install espeak-ng'" >&2; exit 1; fi; }

demo: $(VENV)/.runtime
	$(BIN)/spikelearn demo

lint: $(VENV)/.dev
	$(BIN)/ruff check .

test: system-deps $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest
	$(MAKE) docs

# Builds the site (gallery examples executed) into docs/_build/html; warnings are errors.
docs: $(VENV)/.docs
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
	rm -rf docs/_build docs/auto_examples docs/gen_modules docs/sg_execution_times.rst
