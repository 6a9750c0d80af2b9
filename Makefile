PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TPU_STAMP := $(VENV)/.installed-tpu-plan
TEST_STAMP := $(VENV)/.installed-test
APP_STAMP := $(VENV)/.installed-app

.PHONY: install install-tpu-plan install-app test demo clean

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip

# The CPU install: the runtime requirements and this package (editable). For a GPU or a TPU VM,
# add jax[cuda12], jax[cuda13] or jax[tpu] afterwards (or `pip install -e ".[cuda12]"`).
$(STAMP): requirements.txt | $(VPY)
	$(VPY) -m pip install -r requirements.txt
	$(VPY) -m pip install -e . --no-deps
	touch $(STAMP)

install: $(STAMP)

# The TPU-planning extra: libtpu, the TPU compiler of tools/tpu_plan.py (Linux x86-64 only; its
# environment markers make it a no-op elsewhere). It pins the jax that this libtpu matches.
$(TPU_STAMP): requirements.txt requirements-tpu.txt | $(VPY)
	$(VPY) -m pip install -r requirements.txt -r requirements-tpu.txt
	$(VPY) -m pip install -e . --no-deps
	touch $(TPU_STAMP)

install-tpu-plan: $(TPU_STAMP)

# The web page's extra: Gradio (tools/app.py).
$(APP_STAMP): requirements.txt requirements-app.txt | $(VPY)
	$(VPY) -m pip install -r requirements.txt -r requirements-app.txt
	$(VPY) -m pip install -e . --no-deps
	touch $(APP_STAMP)

install-app: $(APP_STAMP)

# The tests need the runtime, the test-only requirements, the TPU compiler (tests/
# test_tpu_plan.py) and the web page's Gradio (tests/test_app.py), resolved together in one pip
# call. tests/test_app.py also drives the OS's Chromium (Debian: apt-get install chromium; .ci/run
# installs it); without one, its browser test is skipped.
$(TEST_STAMP): requirements.txt requirements-test.txt requirements-tpu.txt requirements-app.txt | $(VPY)
	$(VPY) -m pip install -r requirements.txt -r requirements-test.txt -r requirements-tpu.txt -r requirements-app.txt
	$(VPY) -m pip install -e . --no-deps
	touch $(TEST_STAMP)

# Two pytest-xdist workers (the CI machine has 2 cores; most of the time is XLA compiling, one
# thread each), handed one test at a time, slowest files first (tests/conftest.py).
TEST_WORKERS ?= 2

test: $(TEST_STAMP)
	$(VPY) -m pytest -q -n $(TEST_WORKERS) --maxschedchunk 1 tests

demo: install
	$(VPY) -m deepdeblur_jax.main --config=configs/quickstart.py --workdir=runs/quickstart

clean:
	rm -rf $(VENV) runs .pytest_cache
