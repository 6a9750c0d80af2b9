PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test demo clean

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-test.txt | $(VPY)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -r requirements.txt -r requirements-test.txt
	$(VPY) -m pip install -e . --no-deps
	touch $(STAMP)

install: $(STAMP)

test: install
	$(VPY) -m pytest -q tests

demo: install
	$(VPY) -m deepdeblur_jax.main --config=configs/quickstart.py --workdir=runs/quickstart

clean:
	rm -rf $(VENV) runs .pytest_cache
