# Each target creates .venv and installs what it needs, so a fresh clone needs only
# python3 (3.10 or newer) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast test-slow matrix lint typecheck bench check-litellm clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m assistants_async demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m coverage run -m pytest -m "not slow"
	$(BIN)/python -m coverage report

# The suite on CPython 3.10 (required) and the newest other 3.1x found, each in .venv-3.X.
matrix:
	bash .ci/matrix

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# The long cases (benchmarks run small, the official Node SDK, 1,000 runs on three
# processes, 100,000 messages paged): on the default interpreter, in .ci/run.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -p no:cacheprovider

# Against bare aiohttp and the official openai SDK, on this machine (a few minutes).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

# Runs answered through the server by LiteLLM's proxy with mock responses (a server
# nobody here wrote), in its own environment; optional, a few minutes the first time.
# Pinned below 1.82.7 and 1.82.8, the releases that were compromised.
LITELLM := .venv-litellm
check-litellm: $(STAMP)
	test -x $(LITELLM)/bin/litellm || ($(PYTHON) -m venv $(LITELLM) && \
		$(LITELLM)/bin/python -m pip install --quiet 'litellm[proxy]==1.82.6')
	$(BIN)/python scripts/check_litellm.py $(LITELLM)/bin/litellm

clean:
	rm -rf $(VENV) $(LITELLM) .venv-3.* .coverage .mypy_cache .ruff_cache .pytest_cache .hypothesis
