# Two entry points, both self-contained on a fresh machine:
#   make demo   creates .venv, installs aacn, runs the main job (ResNet-18 vs AA-ResNet-18 on svrt1, one seed)
#   make test   creates .venv, installs aacn with dev extras, runs lint and the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[all]"
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/aacn compare --dataset svrt1 --seeds 0 --output runs/demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests hubconf.py
	$(BIN)/ruff format --check src tests hubconf.py

# pytest exits 5 when it collects no test: that is a failure here, never a silent pass.
pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

test: lint pytest

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
