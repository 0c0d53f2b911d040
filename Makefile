# The two commands of the README:
#   make book   set up .venv, execute every chapter (quick profile) and build _build/html
#   make test   set up .venv, run the unit tests, execute every chapter with nbmake,
#               build the book from those executed notebooks with warnings as errors,
#               and rehearse the full profile offline (make rehearse)
VENV   ?= .venv
PY     := $(VENV)/bin/python
CI_BOOK := ci-book
NOTEBOOKS = $(shell $(PY) -c "import yaml;t=yaml.safe_load(open('_toc.yml'));print(' '.join(c['file']+'.ipynb' for c in t['chapters']))")

# The quick profile needs nothing from the Hugging Face Hub: never wait on it
ifneq ($(BERTCLF_PROFILE),full)
export HF_HUB_OFFLINE ?= 1
endif

# Executed chapters are read as a printed book: no progress bars in their stored outputs
QUIET_BARS = TQDM_DISABLE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1

# Chapters draw inline figures: a non-interactive MPLBACKEND (e.g. Agg) would hide them
unexport MPLBACKEND

.PHONY: setup encoder book test unit notebooks ci-book rehearse bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch 2.13.0: on this project's machines a CPU wheel on disk; elsewhere PyPI's default build
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[book,test,serve]"
	touch $@

book: encoder
	$(QUIET_BARS) $(VENV)/bin/jupyter-book build . -W --keep-going
	@echo "book: $(CURDIR)/_build/html/index.html"

test: encoder unit notebooks ci-book rehearse

unit: setup
	$(PY) -m pytest -q -n 2 --durations=15 tests

# The offline Chinese encoder the chapters share (built once, cached in BERTCLF_CACHE or ~/.cache/bertclf)
encoder: setup
	$(VENV)/bin/bertclf build-encoder zh

# Execute each chapter once, in a copy of the book, keeping the outputs there ...
notebooks: encoder
	rm -rf $(CI_BOOK) && mkdir -p $(CI_BOOK)
	cp -r _config.yml _toc.yml book $(CI_BOOK)/ && rm -rf $(CI_BOOK)/book/runs
	cd $(CI_BOOK) && $(QUIET_BARS) $(CURDIR)/$(PY) -m pytest -p no:cacheprovider --rootdir=. --nbmake --nbmake-kernel=python3 \
		--nbmake-timeout=900 --overwrite --durations=0 -o addopts="" $(NOTEBOOKS)
	$(PY) tests/check_executed_notebooks.py $(CI_BOOK)/book --page-width

# ... and build the book from those executed copies (no second execution), warnings as errors
ci-book: notebooks
	sed -i 's/execute_notebooks: force/execute_notebooks: "off"/' $(CI_BOOK)/_config.yml
	$(VENV)/bin/jupyter-book build $(CI_BOOK) -W --keep-going

# Every BERTCLF_PROFILE=full path (CLI for each Hub data set, every chapter) against a tiny
# offline mirror: random 2-layer models, a few hundred bundled texts in the Hub's schemas.
# It checks code paths, not scores.
rehearse: encoder
	$(PY) scripts/rehearse_full.py

bench: setup
	$(PY) -m benchmarks.train --threads 1
	$(PY) -m benchmarks.predict --threads 1
	$(PY) -m benchmarks.serve_load

clean:
	rm -rf _build ci-book book/runs runs
