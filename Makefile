# quantbridge — the two Quick start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.quantbridge-installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba-cache

.PHONY: install demo test check pytest bench samples clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "quantbridge needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install quantbridge with its pinned dependencies

demo: install ## the main job: prototype → vectorised backtest → bridge → runtime from ticks → parity report
	$(BIN)/quantbridge validate sma_crossover --data datasets/samples/BTCUSDT_1h.parquet --from-ticks --parity-bars 2000

check: install ## ruff, ruff format, mypy (strict), import-linter layer contracts
	VENV=$(VENV) .ci/static-checks

pytest: install ## the whole test suite
	$(BIN)/python -m pytest

test: check pytest ## everything CI runs

bench: install ## benchmark tables (see benchmarks/README.md)
	$(BIN)/python -m benchmarks.datasets_bench

samples: install ## regenerate the bundled sample data
	$(BIN)/quantbridge data samples

clean:
	rm -rf $(VENV) .typecheck .mypy_cache .ruff_cache .pytest_cache .numba-cache build *.egg-info
