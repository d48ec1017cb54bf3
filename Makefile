# Two commands: `make book` and `make test`. Both set up .venv from requirements.txt first.
# `make check`: the unit tests only (no notebook executes, no test marked slow; under a minute), for a fast loop.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.PHONY: book test check setup synthetic bench clean clean-cache

setup: $(STAMP)

# Re-install only when requirements.txt changes. The .pth file puts this checkout on the
# venv's import path, so `import helpers` works in notebooks, papermill runs and tests.
$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (the book needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'hcc_book.pth').write_text('$(CURDIR)\n')"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hcc-book)" >/dev/null
	@# Kernels run on this machine only; silence ipykernel's per-start TCP warning (errors still show).
	$(BIN)/python -c "import json, sys; p = sys.prefix + '/share/jupyter/kernels/python3/kernel.json'; k = json.load(open(p)); k['argv'] += ['--IPKernelApp.log_level=ERROR']; json.dump(k, open(p, 'w'), indent=1)"
	touch $(STAMP)

book: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/python -m helpers execute --jobs 2; \
	$(BIN)/jupyter-book build . -W -n --keep-going; \
	$(BIN)/python -m helpers check-offline _build/html; \
	echo "Book built in $$(( $$(date +%s) - start )) s: $(CURDIR)/_build/html/index.html"

# Two pytest-xdist workers; --dist loadgroup keeps each shared execution (the executed book,
# one re-run per study; tests/conftest.py) on one worker, so every chapter executes once.
# The executed book is the book's own execution cache (_build/.jupyter_cache): the tests then
# build the HTML from it and open every page in headless Chromium (tests/test_browser.py;
# skipped without Chromium unless HCC_BOOK_REQUIRE_BROWSER=1), and `make book` afterwards
# executes nothing.
test: $(STAMP)
	$(BIN)/python -m pytest tests -q -n 2 --dist loadgroup

check: $(STAMP)
	$(BIN)/python -m pytest tests -q -n 2 -m "not notebook and not slow"

# Regenerate data/synthetic/ from data/published/ (byte-identical for the same seeds).
synthetic: $(STAMP)
	$(BIN)/python -m helpers synthesize

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_maxstat.py
	$(BIN)/python benchmarks/bench_optimism.py

clean-cache:
	rm -rf _build/.jupyter_cache

clean:
	rm -rf _build
