# Two entry points, both self-contained on a fresh machine:
#   make demo   creates .venv, installs aacn, runs the main job (ResNet-18 vs AA-ResNet-18 on svrt1, quick variant)
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
	$(BIN)/python -m pip install -q -e ".[train,report]"
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(STAMP)

# The SVRT study's quick variant (docs/svrt_study.md, "make demo", Amendment 3): svrt1 at 125 images, two seeds,
# both models, 8 epochs in float32: under 3 min from a fresh clone, install included, on an idle 2-core AMD EPYC (README).
demo: $(STAMP)
	$(BIN)/aacn compare --dataset svrt1 --train-sizes 125 --seeds 0,1 --epochs 8 --precision 32 --val-size 1000 \
		--output runs/demo
	@echo "This shows the pipeline and the files it writes, not a verdict: 8 epochs are a quarter of the study's budget"
	@echo "(a model need not have fitted its 125 images), and the interval of two paired seeds is wide (t = 12.7)."
	@echo "The study (5 paired seeds, 4 sizes, 32 epochs, 4,000 test images; docs/svrt_study.md) is done: its"
	@echo "tables and verdicts are in studies/svrt1/report.md, studies/svrt2/report.md and the README."

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks hubconf.py
	$(BIN)/ruff format --check src tests benchmarks hubconf.py

# pytest exits 5 when it collects no test: that is a failure here, never a silent pass.
# Two workers of one thread each: most of the suite's time is child processes starting Python, which a second
# worker overlaps; one thread each keeps the two from fighting over two cores.
pytest: $(DEV_STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --durations=20

test: lint pytest

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
