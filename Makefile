# SiamRPN-TF: environment, tests and demo.
#   make test   create .venv (Python 3.7) if missing, install the pins, run the tests
#   make demo   create .venv if missing, then: synthetic dataset -> training -> OTB table (scripts/demo.py)
#   make venv   only create/refresh the environment

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
NANO_DIR ?= ../shared/peers/nanotrack-v2

# Python 3.7 is required by TensorFlow 1.15. Look for it through pyenv (its root, or pyenv's default home when
# pyenv is not on PATH), then python3.7 on PATH.
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON37 ?= $(firstword $(wildcard $(PYENV_ROOT_DIR)/versions/3.7*/bin/python3.7) \
                        $(wildcard $(HOME)/.pyenv/versions/3.7*/bin/python3.7) \
                        $(shell command -v python3.7 2>/dev/null))

.PHONY: test demo venv clean-venv

venv: $(VENV)/.installed

$(VENV)/bin/python:
	@if [ -z "$(PYTHON37)" ]; then \
	  echo "error: Python 3.7 not found (TensorFlow 1.15 needs it)." >&2; \
	  echo "  looked in: $(PYENV_ROOT_DIR)/versions/3.7*, $(HOME)/.pyenv/versions/3.7*, python3.7 on PATH" >&2; \
	  echo "  install it with 'pyenv install 3.7.16', or pass PYTHON37=/path/to/python3.7" >&2; \
	  exit 1; fi
	@$(PYTHON37) -c 'import sys; assert sys.version_info[:2] == (3, 7), sys.version' || \
	  { echo "error: $(PYTHON37) is not Python 3.7" >&2; exit 1; }
	$(PYTHON37) -m venv $(VENV)

# Re-installs only when the pins or the package metadata change.
$(VENV)/.installed: $(VENV)/bin/python requirements.txt setup.py
	$(PY) -m pip install --quiet --upgrade 'pip<24.1'
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

test: venv
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

demo: venv
	$(PY) scripts/demo.py --nano-dir $(NANO_DIR)

clean-venv:
	rm -rf $(VENV)
