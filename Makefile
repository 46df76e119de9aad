# The two commands of the README. Each sets itself up on a fresh machine: a virtual environment in
# .venv with swapcam installed editable (re-done when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SECONDS ?= 10

.PHONY: demo test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/swapcam live --input synthetic --output file:demo.mp4 --seconds $(SECONDS) --report demo.json

# pytest exits 5 when it collects no tests; that is not a failure of the code under test.
test: $(BIN)/.installed
	$(BIN)/python -m pytest -q; status=$$?; if [ $$status -eq 5 ]; then exit 0; else exit $$status; fi
