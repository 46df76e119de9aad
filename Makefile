# The two commands of the README. Each sets itself up on a fresh machine: a virtual environment in
# .venv with swapcam installed editable (redone when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SECONDS ?= 10
# Pinned so pip takes the CPU build that lies on this project's machines; an unpinned torch
# resolves to a multi-GB CUDA build. Override on a GPU machine: make test TORCH=torch
TORCH ?= torch==2.13.0

.PHONY: demo test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# training and export tests need torch (the [train] extra), pytest/ruff (the [dev] extra) and the
# identity measure dlib (the [identity] extra)
$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev,train,identity]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/swapcam demo --seconds $(SECONDS) --report demo.json

# pytest exits 5 when it collects no tests; that is not a failure of the code under test.
test: $(BIN)/.installed-dev
	$(BIN)/python -m pytest -q; status=$$?; if [ $$status -eq 5 ]; then exit 0; else exit $$status; fi
