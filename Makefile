# CareKey — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# `make demo` listens where `carekey serve` would: CAREKEY_HOST and CAREKEY_PORT, unless HOST or
# PORT is given (`make demo PORT=8080`). The simulated doors' first port: CAREKEY_DEMO_DOOR_PORT.
HOST   ?= $(or $(CAREKEY_HOST),127.0.0.1)
PORT   ?= $(or $(CAREKEY_PORT),8000)

.PHONY: demo test faults fuzz bench lint types imports pytest lock serve clean

# A stamp per lock file: the venv is rebuilt only when a lock file changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24.2"

# A development venv (made by `make test`) stays one: re-installing the run-time lock over it
# would swap versions the tests were locked with (cbor2 differs between the two locks).
$(VENV)/.main-stamp: requirements/main.txt pyproject.toml | $(BIN)/python
	if [ -f $(VENV)/.dev-stamp ]; then \
	  $(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt; \
	else \
	  $(BIN)/python -m pip install --quiet --require-hashes -r requirements/main.txt; \
	fi
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev-stamp: requirements/dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@ $(VENV)/.main-stamp

demo: $(VENV)/.main-stamp
	$(BIN)/carekey db upgrade
	$(BIN)/carekey seed --profile copenhagen --if-empty
	$(BIN)/carekey serve --host $(HOST) --port $(PORT) --demo data/demo

test: $(VENV)/.dev-stamp lint types imports pytest

# The Hypothesis fuzz of issuer-signed hostile values (issue 13) with many examples, not the few
# of the default run: FUZZ_EXAMPLES per test (a few minutes on two cores).
FUZZ_EXAMPLES ?= 2000
fuzz: $(VENV)/.dev-stamp
	CAREKEY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -p no:cacheprovider \
	  tests/protocol/test_fuzz_signed.py tests/devices/test_fuzz_signed_door.py

# Every benchmark (protocol, login, web, a simulated day; SQLite and, when it answers, the local
# PostgreSQL), then the summary at the top of docs/benchmarks.md is rewritten. Takes ~10 minutes.
bench: $(VENV)/.dev-stamp
	$(BIN)/carekey bench all --write docs/benchmarks.md

lint: $(VENV)/.dev-stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.dev-stamp
	$(BIN)/mypy

# The import contracts of the layering ([tool.importlinter] in pyproject.toml).
imports: $(VENV)/.dev-stamp
	$(BIN)/lint-imports

# The suite runs in PYTEST_WORKERS processes (pytest-xdist; `make test PYTEST_WORKERS=0` runs it
# in one). Each worker has its own PostgreSQL database and temporary directory; --dist loadgroup
# keeps the tests marked xdist_group (the browser tests) on one worker. Coverage (pytest-cov,
# servers started as subprocesses included: [tool.coverage.run]) is printed, then checked
# against the floors of [tool.carekey.coverage] in pyproject.toml. For a few tests without the
# gate, run .venv/bin/pytest directly. A run that skipped tests (no PostgreSQL or Chromium
# here) reports the floors without enforcing them, except under CI=true.
PYTEST_WORKERS ?= 2
COVERAGE_JSON := var/coverage.json
JUNIT_XML := var/junit.xml
pytest: $(VENV)/.dev-stamp
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --junitxml=$(JUNIT_XML) \
	  --cov --cov-report=term --cov-report=json:$(COVERAGE_JSON) $(PYTEST_ARGS)
	$(BIN)/python tools/coverage_floor.py $(COVERAGE_JSON) --junit $(JUNIT_XML)

# The fault-injection suite in full (tests/faults: an own PostgreSQL frozen for 20 s, restarted,
# killed mid-upload); `make test` runs it short (a 6 s freeze).
faults: $(VENV)/.dev-stamp
	CAREKEY_FAULTS_FULL=1 $(BIN)/pytest -q -s tests/faults $(PYTEST_ARGS)

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock: $(VENV)/.dev-stamp
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements/main.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q -o requirements/dev.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache .coverage .coverage.* var/coverage.json var/junit.xml
