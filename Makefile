# Python writes bytecode for the modules it imports (into .venv), so every later preview and test
# process skips compiling them again; an environment that sets PYTHONDONTWRITEBYTECODE would make
# each of them compile the SDKs anew (about 3 s a process).
unexport PYTHONDONTWRITEBYTECODE

# Two commands a new user needs: `make preview` and `make test`. Both create the venv first.
# `make help` lists every target.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev-aws
# uv (from PyPI, pinned) installs the pinned requirements many times faster than pip.
UV_VERSION := 0.13.8
# Bytecode: by default Python compiles each module the first time it is imported (a first
# preview pays ~6 s for the few hundred it uses). Compiling all ~14,000 files at install
# took 110 s on the 2-core CI box, so it is opt-in: make venv UV_COMPILE=--compile-bytecode
UV_COMPILE ?=
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
# Checkov lives in its own venv: its many dependencies must not move the main venv's pins.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cksum < requirements-checkov.txt | cut -d' ' -f1)

.PHONY: help preview previews test bench venv checkov-venv clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

venv: $(STAMP) ## create .venv with the pinned requirements (first run: about 0.7 GB)

$(STAMP): requirements.txt
	@echo "Creating $(VENV) with the pinned requirements (about 0.7 GB; first run only)."
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --python $(PY) $(UV_COMPILE) -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

checkov-venv: $(CHECKOV_STAMP) ## create .venv-checkov (Checkov, for the test suite)

$(CHECKOV_STAMP): requirements-checkov.txt $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(VENV)/bin/uv pip install --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $@

# make preview STACK=prod-aws ARGS="--json out/plan.json --manifests out/manifests"
preview: $(STAMP) ## preview stacks/Pulumi.$(STACK).yaml offline (STACK=dev-aws, ARGS=...)
	$(PY) -m preview $(STACK) $(ARGS)

previews: $(STAMP) ## preview every stack in stacks/, as CI's smoke test does
	@for s in $$(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p'); do \
	  $(PY) -m preview $$s --quiet || exit 1; done

# The Checkov and promtool tests (tests/platform/test_checkov.py, test_alert_rules.py) skip
# loudly when their tool is missing, and fail under CI=true.
test: $(STAMP) $(CHECKOV_STAMP) ## ruff and the whole test suite (pytest, 2 workers)
	$(VENV)/bin/ruff check .
	CHECKOV=$(abspath $(CHECKOV_VENV))/bin/checkov $(PY) -m pytest -n 2

bench: $(STAMP) ## the preview's time against the SDK's floor (prod-aws and 64 GPU pools x 64 namespaces)
	$(PY) -m preview.bench

clean: ## remove .venv, .venv-checkov and generated files
	rm -rf $(VENV) $(CHECKOV_VENV) out .pytest_cache
