# The two commands of the README. Each creates .venv on first use (torch pinned first: an
# unpinned torch pulls a multi-GB CUDA build) and re-installs only when pyproject.toml changes.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast setup bench clean

$(STAMP): pyproject.toml requirements/torch.txt requirements/verl.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/torch.txt
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps -r requirements/verl.txt
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/perceptrl demo $(ARGS)

# the full suite: what CI runs (builds llama-server on first use, ~15 min on 2 cores)
test: $(STAMP)
	$(BIN)/python -m pytest -q $(ARGS)

# no server builds: deselects the tests marked `server` (llama-server / judge-server on loopback)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not server" $(ARGS)

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) runs outputs
