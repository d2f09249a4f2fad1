# Two commands a new user needs: `make preview` and `make test`. Both create the venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev-aws
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)

.PHONY: preview previews test venv clean

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# make preview STACK=prod-aws ARGS="--json out/plan.json --manifests out/manifests"
preview: $(STAMP)
	$(PY) -m preview $(STACK) $(ARGS)

# Every stack in stacks/, as CI's smoke test does.
previews: $(STAMP)
	@for s in $$(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p'); do \
	  $(PY) -m preview $$s --quiet || exit 1; done

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2

clean:
	rm -rf $(VENV) out .pytest_cache
