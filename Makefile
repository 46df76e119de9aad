# The two commands of the README. Each sets itself up on a fresh machine: a virtual environment in
# .venv with swapcam installed editable (redone when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SECONDS ?= 10
# Pinned so pip takes the CPU build that lies on this project's machines; an unpinned torch
# resolves to a multi-GB CUDA build. Override on a GPU machine: make test TORCH=torch
TORCH ?= torch==2.13.0

# mypy checks the package by its installed names, swapcam.realtime and swapcam.export, which pyproject
# maps onto realtime/ and export/ by hand (package-dir): mypy cannot follow that mapping, so links in
# .typecheck/ (git-ignored) lay the names out and pyproject's [tool.mypy] mypy_path points there.
TYPECHECK_LINKS := .typecheck/swapcam/realtime .typecheck/swapcam/export

.PHONY: demo lint test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# training and export tests need torch (the [train] extra), pytest/ruff/playwright (the [dev] extra),
# the identity measure dlib (the [identity] extra), C2PA signing (the [provenance] extra) and the
# studio's web server (the [studio] extra)
$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev,train,identity,provenance,studio]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/swapcam demo --seconds $(SECONDS) --report demo.json

$(TYPECHECK_LINKS):
	mkdir -p $(@D)
	ln -sfn ../../$(@F) $@

# the checks that need no test run: lint rules, formatting, types, the import layers (test runs them first)
lint: $(BIN)/.installed-dev $(TYPECHECK_LINKS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest exits 5 when it collects no tests; that is not a failure of the code under test.
test: $(BIN)/.installed-dev lint
	$(BIN)/python -m pytest -q; status=$$?; if [ $$status -eq 5 ]; then exit 0; else exit $$status; fi
