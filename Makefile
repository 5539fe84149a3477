# wkd_det set-up, tests and the demo. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
MMENGINE ?= mmengine==0.10.7
MMCV ?= mmcv==2.1.0
MMDET ?= mmdet==3.3.0
# Built mmcv wheels are kept here, one folder per (python, torch) pair, so a
# fresh .venv or a fresh clone on the same machine skips the 20-minute build.
WHEEL_CACHE ?= $(HOME)/.cache/wkd_det/wheels
PYTEST_ARGS ?=

PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.wkd_det_installed

.PHONY: help install test lint demo benchmark clean

help:
	@echo "make install    create $(VENV) with torch, mmcv (built with ops), mmdet and wkd_det"
	@echo "make test       install, then ruff and the pytest suite"
	@echo "make demo       install, then the embedded end-to-end distillation demo"
	@echo "make benchmark  install, then the loss benchmark (tools/benchmark_losses.py)"

install: $(STAMP)

$(STAMP): setup.py Makefile
	@echo "[install] virtual environment $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "[install] $(TORCH)"
	$(PIP) install -q "$(TORCH)" numpy
	@echo "[install] build tools (setuptools<70 after torch: mmcv's setup.py imports pkg_resources)"
	$(PIP) install -q "setuptools<70" wheel ninja
	$(PIP) install -q "$(MMENGINE)"
	@if $(PY) -c "import mmcv.ops" 2>/dev/null; then \
		echo "[install] mmcv with ops already installed"; \
	else \
		tag=$$($(PY) -c "import sys, torch; print(f'py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}')"); \
		dir="$(WHEEL_CACHE)/$$tag"; mkdir -p "$$dir"; \
		if ! ls "$$dir"/mmcv-*.whl >/dev/null 2>&1; then \
			echo "[install] building $(MMCV) from source with its C++ ops for $$tag:"; \
			echo "[install] this takes about 20 minutes on 2 cores, once per machine"; \
			MMCV_WITH_OPS=1 MAX_JOBS=$${MAX_JOBS:-$$(nproc)} $(PIP) wheel --no-deps \
				--no-build-isolation --no-binary mmcv -w "$$dir" "$(MMCV)"; \
		fi; \
		echo "[install] mmcv from $$dir"; \
		$(PIP) install -q "$$dir"/mmcv-*.whl; \
	fi
	@echo "[install] $(MMDET) and wkd_det (editable, with dev extras)"
	$(PIP) install -q "$(MMDET)"
	$(PIP) install -q --no-build-isolation -e ".[dev]"
	@echo "[install] setuptools 77-80: torch wants >= 77, mmengine resolves 'mmdet::' paths with pkg_resources (gone in 81)"
	$(PIP) install -q "setuptools>=77,<81"
	@$(PY) -c "import pkg_resources, torch, mmcv, mmcv.ops, mmdet, mmengine, wkd_det; \
		print('[install] ready: torch', torch.__version__, '| mmcv', mmcv.__version__, \
		'| mmengine', mmengine.__version__, '| mmdet', mmdet.__version__, '| wkd_det', wkd_det.__version__)"
	@touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: install
	$(PY) tools/demo.py

benchmark: install
	$(PY) tools/benchmark_losses.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
