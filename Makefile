# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
# Both create .venv and install wfnb with what it needs (pip's download cache is reused).

# Another Python in its own venv: `make install PYTHON=/path/to/python3.13 VENV=.venv-3.13` (or `make venv-3.13`
# for pyenv's), then `.venv-3.13/bin/python -m pytest`. 3.10 gets older pins (constraints-py310.txt).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: a test mostly waits on a kernel it started, so two processes keep two cores busy.
TEST_JOBS ?= 2
CONSTRAINTS ?= $(shell $(PYTHON) -c 'import sys; print("constraints-py310.txt" if sys.version_info < (3, 11) else "constraints.txt")')

.PHONY: demo test lint bench bench-smoke bench-browser bench-probes install clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

venv-%:
	$(MAKE) install PYTHON="$$(pyenv prefix $*)/bin/python" VENV=.venv-$*

demo: $(STAMP)
	$(BIN)/python notebooks/run_demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_JOBS)

# ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade) on everything, mypy on the files pyproject.toml names.
# Settings in pyproject.toml; `$(BIN)/ruff check --fix .` fixes most of what ruff finds. CI runs this first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The quick, important tests (under 2 minutes on two cores): pure shells, hashing, the store, code hashes,
# layers and a few real kernels. The selection is FAST in tests/conftest.py.
.PHONY: test-fast
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_JOBS) -m fast

# The benchmarks against the peers (joblib, marimo, np.save, pickle, Feather); see docs/benchmarks.md.
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE can slow numpy on this machine: unset for the benchmarks only.
BENCH := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python -m benchmarks

bench: $(STAMP)
	$(BENCH) --out docs/benchmarks.md

bench-smoke: $(STAMP)
	$(BENCH) --smoke --out build/benchmarks-smoke.md

# The variant browser in JupyterLab and headless Chromium: time to a painted table for 10, 1,000 and 10,000
# variants, into its own section of docs/benchmarks.md (which `make bench` keeps).
# The trace's probe (audit hooks) against Python 3.12's sys.monitoring, measured on Python 3.13 (pyenv's),
# into its own section of docs/benchmarks.md (which `make bench` keeps).
bench-probes:
	$(MAKE) venv-3.13
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv-3.13/bin/python -m benchmarks.monitoring --out docs/benchmarks.md

bench-browser: $(STAMP)
	$(BIN)/python -m benchmarks.browser --out docs/benchmarks.md

# Never notebooks/.wfnb: the variants made with the demo notebooks are the user's (make demo uses a scratch store).
clean:
	rm -rf $(VENV) .venv-*/ .pytest_cache
