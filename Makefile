# Two commands a new user needs: `make preview` and `make test`. Both create the venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev-aws
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
# Checkov lives in its own venv: its many dependencies must not move the main venv's pins.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cksum < requirements-checkov.txt | cut -d' ' -f1)

.PHONY: preview previews test venv checkov-venv clean

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

checkov-venv: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $@

# make preview STACK=prod-aws ARGS="--json out/plan.json --manifests out/manifests"
preview: $(STAMP)
	$(PY) -m preview $(STACK) $(ARGS)

# Every stack in stacks/, as CI's smoke test does.
previews: $(STAMP)
	@for s in $$(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p'); do \
	  $(PY) -m preview $$s --quiet || exit 1; done

# The Checkov and promtool tests (tests/platform/test_checkov.py, test_alert_rules.py) skip
# loudly when their tool is missing, and fail under CI=true.
test: $(STAMP) $(CHECKOV_STAMP)
	$(VENV)/bin/ruff check .
	CHECKOV=$(abspath $(CHECKOV_VENV))/bin/checkov $(PY) -m pytest -n 2

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) out .pytest_cache
