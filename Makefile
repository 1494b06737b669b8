# Two entry points: `make chat` runs the bot on the console channel, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

chat: $(STAMP)
	$(BIN)/sangkien chat $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bot rules tests bench
	$(BIN)/ruff format --check bot rules tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV)
