PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test demo clean

$(VPY):
	$(PYTHON) -m venv $(VENV)

# requirements-tpu.txt (libtpu, the TPU compiler for tools/tpu_plan.py and its tests) installs on
# Linux x86-64 only; its environment markers make it a no-op elsewhere.
$(STAMP): requirements.txt requirements-test.txt requirements-tpu.txt | $(VPY)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -r requirements.txt -r requirements-test.txt -r requirements-tpu.txt
	$(VPY) -m pip install -e . --no-deps
	touch $(STAMP)

install: $(STAMP)

# Two pytest-xdist workers (the CI machine has 2 cores; most of the time is XLA compiling, one
# thread each), handed one test at a time, slowest files first (tests/conftest.py).
TEST_WORKERS ?= 2

test: install
	$(VPY) -m pytest -q -n $(TEST_WORKERS) --maxschedchunk 1 tests

demo: install
	$(VPY) -m deepdeblur_jax.main --config=configs/quickstart.py --workdir=runs/quickstart

clean:
	rm -rf $(VENV) runs .pytest_cache
