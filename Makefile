# Two set-up commands on a fresh machine: `make demo` and `make test` (README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# CPU torch first, or sentence-transformers pulls several GB of CUDA builds.
	$(PIP) install torch==2.13.0 || (echo "torch==2.13.0 CPU wheel not found here; installing the registry's torch" && $(PIP) install torch)
	$(PIP) install -e '.[dev,postgres]'
	# An onnx embedding backend (GUIDECITE_EMBEDDING__BACKEND=onnx|onnx-int8) runs an export of
	# the installed model: built here, once, into ~/.cache/guidecite (local, no download), not at
	# the first question. Nothing to do for the default torch backend.
	HF_HUB_OFFLINE=1 $(VENV)/bin/guidecite models prepare
	touch $(STAMP)

install: $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/guidecite models prepare
	$(VENV)/bin/guidecite demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# No high-severity bandit findings (issue #9); ruff's S rules cover the rest.
	$(VENV)/bin/bandit -q -r assistant ingestion ui eval -lll
	# Dependency audit: known vulnerabilities fail the build; when the vulnerability service
	# cannot be reached (an offline machine) the step says SKIPPED instead of failing.
	@out=$$($(VENV)/bin/pip-audit --progress-spinner off --skip-editable 2>&1); rc=$$?; \
	echo "$$out" | tail -n 5; \
	if [ $$rc -ne 0 ] && echo "$$out" | grep -qi "known vulnerabilit"; then exit 1; fi; \
	if [ $$rc -ne 0 ]; then echo "SKIPPED dependency audit: the vulnerability service could not be reached"; fi

typecheck: install
	$(VENV)/bin/mypy

unit: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest

test: lint typecheck unit

# Every benchmark of issue 7 into out/bench/ (bench.json, bench.md); `make bench BENCH_ARGS=--quick`
# for the CI-sized run, BENCH_ARGS="--synthetic 10000 --synthetic 100000" for 100k chunks.
bench: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/guidecite bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .guidecite .pytest_cache .mypy_cache .ruff_cache
