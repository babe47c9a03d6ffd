# SiamRPN-TF: environment, tests and demo.
#   make test   create .venv (Python 3.7) if missing, install the pins, run the tests
#   make demo   create .venv if missing, then: synthetic dataset -> training -> OTB table (scripts/demo.py)
#               (TF=gpu by itself when a GPU TensorFlow 1.15 can use is present, see below)
#   make venv   only create/refresh the environment
#   make TF=stock test   the same with the stock tensorflow build instead of intel-tensorflow, in its own .venv-stock
#   make TF=gpu test     the same with tensorflow-gpu (CUDA 10.0 build) in .venv-gpu; runs on the CPU without a GPU

SHELL := /bin/bash

# TensorFlow build (DEVELOPERS.md, "Performance"): intel = intel-tensorflow, the oneDNN build of TF 1.15 and the pin
# in requirements.txt (measured faster for tracking and training); stock = tensorflow, the same API
# (requirements.txt with its TensorFlow line replaced by requirements-stock.txt). Each build has its own environment,
# so switching never mixes the two packages (they install the same modules).
# TF=gpu = tensorflow-gpu 1.15.5, the CUDA 10.0 build (requirements-gpu.txt, .venv-gpu): uses GPUs up to Turing when
# CUDA 10.0 and cuDNN 7 are installed, else runs on the CPU like stock. `make demo` without TF= picks it itself when
# nvidia-smi lists such a GPU and those libraries load (scripts/check_environment.py --recommend-build decides and
# says why; TF=intel keeps the CPU build); on a GPU TF sees, the GPU demo trains the full-width network (README).
ifeq ($(origin TF),undefined)
ifneq ($(filter demo,$(MAKECMDGOALS)),)
TF_PROBE_PY := $(firstword $(wildcard .venv/bin/python .venv-gpu/bin/python) python3)
ifeq ($(shell $(TF_PROBE_PY) -m scripts.check_environment --recommend-build 2>/dev/null),gpu)
TF := gpu
$(info make demo: this machine has a GPU that TensorFlow 1.15 can use (CUDA 10.0 and cuDNN 7 load): using TF=gpu \
  (.venv-gpu); `make TF=intel demo` keeps the CPU build)
endif
endif
endif
TF ?= intel
ifeq ($(TF),intel)
VENV ?= .venv
TF_REQUIREMENTS :=
OTHER_TF := tensorflow
else ifeq ($(TF),stock)
VENV ?= .venv-stock
TF_REQUIREMENTS := requirements-stock.txt
OTHER_TF := intel-tensorflow
else ifeq ($(TF),gpu)
VENV ?= .venv-gpu
TF_REQUIREMENTS := requirements-gpu.txt
OTHER_TF := tensorflow intel-tensorflow
else
$(error TF must be 'intel' (default), 'stock' or 'gpu', got '$(TF)')
endif
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

# Re-installs only when the pins or the package metadata change. An environment holding the other TF build (e.g. one
# made before the default changed) has both TF packages removed first, as they share their files.
$(VENV)/.installed: $(VENV)/bin/python requirements.txt requirements-stock.txt $(TF_REQUIREMENTS) setup.py
	$(PY) -m pip install --quiet --upgrade 'pip<24.1'
	@if $(PY) -m pip show -q $(OTHER_TF) 2>/dev/null; then \
	  echo "$(VENV) holds $(OTHER_TF): removing it before installing the $(TF) build"; \
	  $(PY) -m pip uninstall --quiet -y tensorflow intel-tensorflow; fi
	@if [ -n "$(TF_REQUIREMENTS)" ]; then \
	  grep -v -E '^(intel-)?tensorflow==' requirements.txt | cat - $(TF_REQUIREMENTS) > $(VENV)/requirements.txt; \
	else cp requirements.txt $(VENV)/requirements.txt; fi
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

test: venv
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

# TF=gpu: with a GPU TensorFlow sees, the demo's schedule at full width (check_environment --demo-overrides).
ifeq ($(TF),gpu)
DEMO_OVERRIDES := $$($(PY) -m scripts.check_environment --demo-overrides)
endif
demo: venv
	$(PY) scripts/demo.py --nano-dir $(NANO_DIR)$(if $(DEMO_OVERRIDES), $(DEMO_OVERRIDES))

clean-venv:
	rm -rf $(VENV)
