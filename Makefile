# Two entry points: `make chat` runs the bot on the console channel, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test lint bench clean lock

# Installs exactly the locked versions, checked against their hashes (requirements-dev.lock:
# the application's and the tools'); the project itself goes in editable, with no resolving.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Regenerates both lock files from pyproject.toml's ranges (needs PyPI); commit the result.
LOCK := pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip-tools
	.lock-venv/bin/$(LOCK) --output-file requirements.lock pyproject.toml
	.lock-venv/bin/$(LOCK) --extra dev --output-file requirements-dev.lock pyproject.toml
	rm -rf .lock-venv

chat: $(STAMP)
	$(BIN)/sangkien chat $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bot rules tests bench
	$(BIN)/ruff format --check bot rules tests bench
	$(BIN)/mypy

# One test runner more than there are cores: a third of the suite's time goes to waiting on the
# processes it starts (servers, runners, crashes), and the spare runner fills it (2 cores: 271 s
# with two runners, 230-267 s with three).
TEST_RUNNERS ?= $(shell echo $$(( $$(nproc) + 1 )))

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_RUNNERS) --dist worksteal $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV)
