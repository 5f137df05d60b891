# The setup contract: `make demo` and `make test` bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(STAMP)

test: venv
	$(PY) -m pytest -q

demo: venv
	$(VENV)/bin/vadgrade demo

clean:
	rm -rf $(VENV) .vadgrade
