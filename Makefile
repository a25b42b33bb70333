# recette-sas — two commands on a fresh machine: `make acceptance` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
RESULTS ?= reports/allure-results
PYTEST_ARGS ?=

.PHONY: acceptance test lint report benchmark clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "recette-sas needs Python >= 3.11 (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip check
	@touch $(STAMP)

## Run the acceptance suite against the embedded reference targets (all environments); Allure results in reports/.
acceptance: $(STAMP)
	$(BIN)/pytest features --alluredir $(RESULTS) --clean-alluredir $(PYTEST_ARGS)

## Run the project's own tests.
test: $(STAMP)
	$(BIN)/pytest tests $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src steps fixtures features tests benchmarks conftest.py
	$(BIN)/mypy
	$(BIN)/lint-imports

## HTML report (Allure Report 3: Node, no Java) of $(RESULTS) into reports/allure-report/index.html, one file
## that opens from disk; the trend comes from reports/history.jsonl, kept between runs (CI restores it).
report:
	@test -d $(RESULTS) || { echo "report: no results in $(RESULTS) (run make acceptance first)" >&2; exit 2; }
	@! grep -rl -e 'PRIVATE KEY' $(RESULTS) || { echo "report: refused, a private key is in the files above" >&2; exit 1; }
	@if [ ! -x node_modules/.bin/allure ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --no-audit --no-fund; fi
	node_modules/.bin/allure generate $(RESULTS) --config allurerc.mjs --output reports/allure-report
	node scripts/strip-analytics.mjs reports/allure-report/index.html

benchmark: $(STAMP)
	$(BIN)/python benchmarks/matrix.py

clean:
	rm -rf $(VENV) reports/allure-results reports/allure-report reports/summary.json
