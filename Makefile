# The two commands of the README: `make run` and `make test`. Everything else is set-up they share.
# Another interpreter: `make test PY=python3.13 VENV=.venv-3.13` (its own environment).
PY     ?= python3
VENV   ?= .venv
PYTHON := $(VENV)/bin/python
BIN    := $(VENV)/bin
# The project's own Dagster instance (telemetry off, warehouse pool), never the user's home.
export DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: install java browser run test lint ui bench bench-scale bench-big-file bench-quality clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The Spark engine's extra (pyspark, sqlglot) for the tests; `make run` does not need it.
$(VENV)/.installed-spark: $(VENV)/.installed
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,spark]"
	touch $@

# The Spark tests run on a local[2] session: without Java they would fail, so say why first.
java:
	@command -v java >/dev/null || { echo "make test needs Java 17 for the Spark tests" \
		"(apt-get install openjdk-17-jre-headless)" >&2; exit 1; }

# Debian's Chromium for the browser test of the lineage page (as root, e.g. in CI).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: install
	$(BIN)/segmentation sample --if-empty
	$(BIN)/segmentation run

test: $(VENV)/.installed-spark java browser
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

# 1x, 10x and 100x the sample (data generated in a temp folder): run, nightly, pandas; ~30 min.
bench-scale: $(VENV)/.installed-spark java
	$(PYTHON) benchmarks/scale_benchmark.py

# One ~2 GB landing file (100x joined into a day) with a broken last line: quarantine and memory.
bench-big-file: install
	$(PYTHON) benchmarks/big_file_benchmark.py

# Planted-truth scenarios through `segmentation run`: chosen K, ARI and separation per scenario.
bench-quality: install
	$(PYTHON) benchmarks/quality_benchmark.py

clean:
	rm -rf $(VENV) data/landing data/warehouse.duckdb data/models data/reports
