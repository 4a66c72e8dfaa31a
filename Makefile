# The two commands of the README: `make run` and `make test`. Everything else is set-up they share.
VENV   := .venv
PYTHON := $(VENV)/bin/python
BIN    := $(VENV)/bin
# The project's own Dagster instance (telemetry off, warehouse pool), never the user's home.
export DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: install browser run test lint ui bench bench-quality clean

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Debian's Chromium for the browser test of the lineage page (as root, e.g. in CI).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: install
	$(BIN)/segmentation sample --if-empty
	$(BIN)/segmentation run

test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PYTHON) -m pytest

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: install
	$(BIN)/dagster dev --host 127.0.0.1 --port 3000

bench: install
	$(PYTHON) benchmarks/run_benchmarks.py

# Planted-truth scenarios through `segmentation run`: chosen K, ARI and separation per scenario.
bench-quality: install
	$(PYTHON) benchmarks/quality_benchmark.py

clean:
	rm -rf $(VENV) data/landing data/warehouse.duckdb data/models data/reports
