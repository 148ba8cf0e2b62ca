# One entry point for set-up, tests, the demo, the server and the benchmarks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_ROOT ?= demo-workspace
PYTEST_ARGS ?=

.PHONY: venv test lint fmt demo serve bench soak clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# ruff, then the whole suite; exit code 5 (no test collected) is a failure, never a silent pass.
test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks fast_mcp_server.py
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks fast_mcp_server.py
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/pyright

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

demo: $(STAMP)
	$(PY) -m webplatform_digest demo --root $(DEMO_ROOT)

serve: $(STAMP)
	$(VENV)/bin/webplatform-digest serve --transport http --host 127.0.0.1 --port 8000 --root $(DEMO_ROOT)

bench: $(STAMP)
	$(PY) -m benchmarks.run

soak: $(STAMP)
	$(PY) -m benchmarks.soak

clean:
	rm -rf $(DEMO_ROOT) .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
